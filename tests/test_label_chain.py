"""sampler.labels: the label side of self-consumption, against the exact Wright–Fisher numbers."""

import pytest
import torch

from lab.data import load_real_data
from lab.generators.diffusion_model import DiffusionGenerator
from lab.labels import draw_labels, label_distribution, wright_fisher_extinction
from lab.loops import Samples, compose
from lab.seeding import generator
from tests.conftest import SMOKE

# 6,000 chains: with 2,000 (seeds 0–1,999) generation 4 sat 2.8 standard errors low, a chance excursion that the
# next 4,000 seeds did not repeat; at 2 standard errors over 5 correlated generations a smaller run fails too often.
SEEDS, SIZE, RARE_COPIES, GENERATIONS = 6000, 100, 3, 5


def galton_watson_extinction(copies: int, generations: int) -> list[float]:
    q, out = 0.0, []
    for _ in range(generations):
        q = float(torch.tensor(q - 1.0).exp())
        out.append(q**copies)
    return out


def rare_copies_by_generation(source: str, seed: int) -> list[int]:
    """A categorical toy chain (labels only) through the lab's own loop composition and label draws:
    fully synthetic, SIZE labels a generation, the rare class 1 with RARE_COPIES copies in the real pool."""
    pool_labels = torch.zeros(SIZE, dtype=torch.long)
    pool_labels[:RARE_COPIES] = 1
    pool_points = torch.zeros(SIZE, 1)
    pool_shares = torch.bincount(pool_labels, minlength=2).double() / SIZE
    history, copies = [], []
    for gen in range(GENERATIONS + 1):
        data = compose("fully_synthetic", gen, pool_points, pool_labels, history, SIZE, 0.0, seed)
        copies.append(int((data.labels == 1).sum()))
        shares = label_distribution(source, data.labels, pool_shares)
        labels = draw_labels(shares, SIZE, generator(seed, gen, "sample_labels"))
        history.append(Samples(gen, torch.zeros(SIZE, 1), labels))
    return copies[1:]


def test_exact_wright_fisher_approaches_galton_watson_for_large_n():
    exact = wright_fisher_extinction(3, 2000, 5)
    assert exact == pytest.approx(galton_watson_extinction(3, 5), abs=2e-3)
    assert galton_watson_extinction(3, 5)[-1] == pytest.approx(0.39, abs=0.01)


def test_training_set_labels_lose_a_rare_class_at_the_wright_fisher_rate():
    lost = torch.tensor([[c == 0 for c in rare_copies_by_generation("training_set", seed)] for seed in range(SEEDS)])
    measured = lost.double().mean(0)
    predicted = torch.tensor(wright_fisher_extinction(RARE_COPIES, SIZE, GENERATIONS))
    standard_error = (predicted * (1 - predicted) / SEEDS).sqrt()
    assert ((measured - predicted).abs() <= 2 * standard_error).all(), (measured, predicted)
    assert (lost[:, 1:] >= lost[:, :-1]).all()  # extinction is for good: nothing brings a lost class back


def test_pool_labels_pin_the_shares_and_uniform_labels_rebalance():
    pinned = torch.tensor([rare_copies_by_generation("real_pool", seed) for seed in range(300)], dtype=torch.float64)
    # Each generation draws afresh from the pool's 3 %: Binomial(100, 0.03), with no memory of the last.
    assert pinned.mean(0) == pytest.approx([RARE_COPIES] * GENERATIONS, abs=0.4)
    assert float((pinned[:, -1] == 0).double().mean()) == pytest.approx(0.97**SIZE, abs=0.04)
    rebalanced = torch.tensor([rare_copies_by_generation("uniform", seed) for seed in range(300)], dtype=torch.float64)
    assert rebalanced.mean(0) == pytest.approx([SIZE / 2] * GENERATIONS, abs=2.0)


@pytest.mark.slow  # trains and samples a diffusion model
def test_a_conditional_diffusion_model_samples_the_labels_of_its_own_training_set(make_cfg):
    cfg = make_cfg(*SMOKE, "sampler.labels=training_set")
    real = load_real_data(cfg.data)
    model = DiffusionGenerator(cfg, real, torch.device("cpu"), progress=False)
    data = compose("fully_synthetic", 0, real.train_images, real.train_labels, [], int(cfg.loop.train_size), 0.0, 0)
    keep = (data.labels == 2) | (data.labels == 5)  # a training set of two classes, 2 four times as common as 5
    keep &= (data.labels == 2) | (torch.arange(len(keep)) % 4 == 0)
    data.images, data.labels, data.source, data.real_index = (t[keep] for t in (data.images, data.labels, data.source, data.real_index))
    model.fit(data, 0)
    labels = model.sample(400, 0).labels
    assert set(labels.tolist()) == {2, 5}
    share_of_5 = float((data.labels == 5).double().mean())
    assert float((labels == 5).double().mean()) == pytest.approx(share_of_5, abs=3 * (share_of_5 / 400) ** 0.5)
    cfg.sampler.labels = "uniform"
    assert len(set(model.sample(400, 0).labels.tolist())) == real.num_classes
