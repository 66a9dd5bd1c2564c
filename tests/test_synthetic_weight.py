"""train.synthetic_weight: a sample's weight in the training risk relative to a real image's, against known answers."""

import numpy as np
import pytest
import torch

from lab import diffusion
from lab.generators.gaussian import GaussianGenerator
from lab.loops import REAL, TrainingSet
from lab.seeding import generator
from lab.train import train_generation
from tests.conftest import compose_cfg


def half_synthetic(images: torch.Tensor) -> TrainingSet:
    n = len(images)
    source = torch.where(torch.arange(n) < n // 2, REAL, 0)
    return TrainingSet(images, torch.full((n,), -1), source, torch.where(source == REAL, torch.arange(n), -1))


@pytest.mark.parametrize("estimator", ["ml", "unbiased"])
def test_the_gaussian_fits_the_weighted_mean_and_covariance(estimator):
    points = torch.randn(40, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    points[20:] += 3.0  # the samples sit apart from the real points: the weight moves the fit between them
    data = half_synthetic(points.float())
    weights = np.r_[np.ones(20), np.full(20, 0.25)]
    x = data.images.double().numpy()
    cfg = compose_cfg("data=gaussian", "model=gaussian", f"model.estimator={estimator}", "train.synthetic_weight=0.25")
    model = GaussianGenerator(cfg)
    fit = model.fit(data, 1).parameters
    # numpy's weighted covariance: ML divides by Σw; ddof=1 with aweights by Σw − Σw²/Σw (reliability weights).
    assert fit["mean"].numpy() == pytest.approx(np.average(x, axis=0, weights=weights))
    assert fit["cov"].numpy() == pytest.approx(np.cov(x.T, aweights=weights, ddof=int(estimator == "unbiased")))
    # Weight 1 is the plain fit, to the bit.
    plain = GaussianGenerator(compose_cfg("data=gaussian", "model=gaussian", f"model.estimator={estimator}")).fit(data, 1).parameters
    centred = data.images.double() - data.images.double().mean(0)
    assert torch.equal(plain["cov"], centred.T @ centred / (40 - (estimator == "unbiased")))


def test_the_weights_keep_a_mean_of_one_and_a_set_of_one_kind_is_not_weighted():
    data = half_synthetic(torch.zeros(8, 1))
    assert data.weights(0.25).tolist() == pytest.approx([1.6] * 4 + [0.4] * 4)  # 1 : 0.25, mean 1
    assert data.weights(1.0) is None
    one_kind = TrainingSet(torch.zeros(4, 1), torch.full((4,), -1), torch.zeros(4, dtype=torch.long), torch.full((4,), -1))
    assert one_kind.weights(0.25) is None


def test_a_samples_loss_counts_its_weight():
    """Before the first update the loss is the weighted mean (1/B) Σ vᵢ ℓᵢ, v = 2/(1+w) for a real image and 2w/(1+w)
    for a sample: L(w) = 2(A + wC)/(1+w) with A, C the real and the synthetic images' share of the plain loss, read
    from two weights and checked at a third. A set of samples only is not weighted at all."""
    cfg = compose_cfg("model=tiny", "train.images=32", "train.batch_size=32", "train.warmup_images=0", "progress=false")
    images = torch.randint(0, 256, (32, 1, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    half = half_synthetic(images)
    half.labels = torch.arange(32) % 10
    synthetic = TrainingSet(images, torch.arange(32) % 10, torch.zeros(32, dtype=torch.long), torch.full((32,), -1))

    def first_loss(data, weight):
        cfg.train.synthetic_weight = weight
        torch.manual_seed(0)
        unet = diffusion.build_unet(cfg.model, 8, 1, 10)
        result = train_generation(
            unet, diffusion.build_train_scheduler(cfg.train), data, cfg.train, torch.device("cpu"), generator(0, 0, "train"), progress=False
        )
        return result.step_losses[0]

    plain, quarter = first_loss(half, 1.0), first_loss(half, 0.25)
    synthetic_share = (plain - quarter * 1.25 / 2) / 0.75  # from L(1) = A + C and L(¼) = 2(A + C/4)/1.25
    real_share = plain - synthetic_share
    assert first_loss(half, 4.0) == pytest.approx(2 * (real_share + 4 * synthetic_share) / 5, rel=1e-5)
    assert quarter != plain
    assert first_loss(synthetic, 2.0) == first_loss(synthetic, 1.0)


def test_a_weight_out_of_range_or_for_a_fit_without_weights_is_one_line(lab_here, tmp_path):
    for args, says in (
        (["train.synthetic_weight=0"], "error: train.synthetic_weight=0.0 is out of range: allowed > 0"),
        (["data=gaussian", "model=gaussian", "train.synthetic_weight=-1"], "error: train.synthetic_weight=-1.0 is out of range: allowed > 0"),
        (["data=gmm25", "model=gmm", "train.synthetic_weight=2"], "error: train.synthetic_weight=2.0 is not allowed for model=gmm"),
    ):
        result = lab_here(tmp_path, *args)
        assert result.returncode == 2 and result.stderr.startswith(says), result.stderr
