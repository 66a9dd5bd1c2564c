"""The mitigations of curate=: what each keeps, moves or redraws, against answers known by construction."""

import math

import pytest
import torch

from lab import generators
from lab.curate import build_curator
from lab.curate.diversity import farthest_points
from lab.data import load_real_data
from lab.experiment import run_experiment
from lab.loops import Samples
from tests.conftest import compose_cfg

N = 200


def toy(*overrides):
    cfg = compose_cfg("model=gaussian", "data=gaussian", "data.dim=1", f"loop.num_samples={N}", "tracking=disabled", "progress=false", *overrides)
    real = load_real_data(cfg.data)
    model = generators.build(cfg, real, "cpu", progress=False)
    model.fit(_training_set(real), 0)  # N(≈0, ≈1) fitted on the real pool
    return cfg, real, model


def _training_set(real):
    from lab.loops import compose

    return compose("fully_synthetic", 0, real.train_images, real.train_labels, [], 2000, 0.0, 0)


class PositiveVerifier:
    """A verifier whose verdict is known: it recognises exactly the points above zero (probability 1)."""

    def probabilities(self, points):
        return (points[:, :1] > 0).float()

    def features_of(self, points):
        return points.double()


def test_farthest_point_selection_spreads_out_in_order():
    line = torch.arange(11, dtype=torch.float64)[:, None]  # 0, 1, …, 10
    assert farthest_points(line, 3, start=0).tolist() == [0, 10, 5]
    assert sorted(farthest_points(line, 11, start=4).tolist()) == list(range(11))  # k = all: each point once
    copies = torch.zeros(6, 2, dtype=torch.float64)  # a collapsed generator: exact duplicates
    assert sorted(farthest_points(copies, 6, start=2).tolist()) == list(range(6))


def test_verifier_keeps_only_verified_samples_and_draws_until_the_set_is_full():
    cfg, real, model = toy("curate=verifier", "curate.threshold=0.5")
    first = model.sample(N, 1)
    curated = build_curator(cfg.curate, real, PositiveVerifier(), seed=0)(first, model, N)
    kept = curated.samples.images
    assert len(kept) == N and bool((kept[:, 0] > 0).all())
    # About half of each draw passes: the first draw of N, then draws sized by that rate until N pass —
    # about 2 N drawn in all, not whole draws of N.
    assert 1.8 <= curated.draws <= 2.4
    # Removed = rejected: about half of what was drawn (surplus passing samples of the last draw are not counted).
    drawn = round(curated.draws * N)
    assert abs(curated.removed - drawn / 2) < 0.2 * drawn and curated.removed <= drawn - N
    # The kept ones are the passing samples of the first draw, then of the next ones, in order.
    passing_first = first.images[first.images[:, 0] > 0]
    assert torch.equal(kept[: len(passing_first)], passing_first)
    assert curated.scalars(N) == {"curate/removed": curated.removed, "curate/changed": 0, "curate/draws": curated.draws}


def test_verifier_that_runs_out_of_draws_says_how_many_are_missing():
    cfg, real, model = toy("curate=verifier", "curate.threshold=0.5", "curate.max_draws=1")
    curated = build_curator(cfg.curate, real, PositiveVerifier(), seed=0)(model.sample(N, 1), model, N)
    assert len(curated.samples.images) < N
    assert curated.scalars(N)["curate/shortfall"] == N - len(curated.samples.images)


def test_self_correction_moves_each_sample_toward_a_centre_of_its_own_class():
    # Two classes of constant 2×2 images (0 and 200): every k-means centre is the class's image itself.
    images = torch.cat([torch.zeros(50, 1, 2, 2), torch.full((50, 1, 2, 2), 200.0)]).to(torch.uint8)
    labels = torch.cat([torch.zeros(50), torch.ones(50)]).long()

    class Real:
        train_images, train_labels, num_classes = images, labels, 2

    cfg = compose_cfg("curate=self_correction", "curate.strength=0.25", "curate.centres_per_class=1")
    curator = build_curator(cfg.curate, Real, None, seed=0)
    # A class-1 sample at 100 moves a quarter of the way to 200 (its own class), not toward the nearer class-0 centre.
    samples = Samples(1, torch.full((3, 1, 2, 2), 100, dtype=torch.uint8), torch.tensor([1, 0, 1]))
    curated = curator(samples, None, 3)
    assert curated.samples.images[:, 0, 0, 0].tolist() == [125, 75, 125]
    assert (curated.changed, curated.removed, curated.draws) == (3, 0, 1.0)
    cfg.curate.strength = 0.0
    assert build_curator(cfg.curate, Real, None, seed=0)(samples, None, 3).changed == 0


def test_diversity_keeps_n_distinct_candidates_with_a_wider_spread():
    cfg, real, model = toy("curate=diversity", "curate.candidates=2")
    first = model.sample(N, 1)
    curated = build_curator(cfg.curate, real, PositiveVerifier(), seed=0)(first, model, N)
    kept = curated.samples.images[:, 0]
    assert (len(kept), curated.removed, curated.draws) == (N, N, 2.0)
    candidates = torch.cat([first.images, model.sample(N, 1, draw=1).images])[:, 0]
    assert len(set(kept.tolist())) == N and set(kept.tolist()) <= set(candidates.tolist())
    # In draw order, so that a loop taking the front n_synthetic gets a random part of the selection.
    position = {float(v): i for i, v in enumerate(candidates)}
    assert [position[float(v)] for v in kept] == sorted(position[float(v)] for v in kept)
    assert kept.var() > 1.2 * candidates.var()  # farthest-point takes the sparse tails whole, half of the dense middle
    assert math.isclose(float(kept.max()), float(candidates.max())) and math.isclose(float(kept.min()), float(candidates.min()))


def test_a_curated_toy_chain_trains_on_what_curation_kept(tmp_path):
    cfg = compose_cfg(
        "model=gmm",
        "data=gmm25",
        "loop.generations=2",
        "loop.train_size=300",
        "loop.num_samples=500",
        "metrics.num_samples=500",
        "curate=diversity",
        "tracking=disabled",
        "progress=false",
    )
    rows = run_experiment(cfg, tmp_path / "run")
    assert [r["curate/draws"] for r in rows] == [2.0, 2.0] and [r["curate/removed"] for r in rows] == [500, 500]
    saved = torch.load(tmp_path / "run" / "generations" / "gen_000.pt", weights_only=True)
    assert saved["images"].shape == (500, 2) and saved["images"].dtype == torch.float32
    assert 0 < rows[0]["metrics/modes_covered"] <= 25 and 0 < rows[0]["metrics/high_quality_share"] <= 1


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["curate=none", "curate.threshold=0.5"], "curate.threshold is not a setting of curate=none; its settings: name, max_draws"),
        (["curate=diversity", "curate.strength=0.5"], "curate.strength is not a setting of curate=diversity; its settings: name, max_draws, candidates"),
        (["curate=verifier", "curate.threshold=high"], "curate.threshold=high has the wrong type for this setting"),
        (["curate=verifier", "curate.threshold=0"], "curate.threshold=0.0 is out of range: allowed 0 < value ≤ 1"),
        (["curate=self_correction", "curate.strength=2"], "curate.strength=2.0 is out of range: allowed 0 ≤ value ≤ 1"),
        (["curate=diversity", "curate.candidates=0.5"], "curate.candidates=0.5 is out of range: allowed ≥ 1"),
        (["curate=diversity", "curate.candidates=20"], "curate.candidates=20.0 needs more draws than curate.max_draws=10"),
        (["model=gaussian", "data=gaussian", "curate=verifier"], "curate=verifier needs the feature classifier of an image data set"),
    ],
)
def test_curate_settings_are_checked(overrides, message):
    """Hydra rejects a key or type the chosen option's schema lacks; the option's own checks guard its ranges."""
    from lab.__main__ import check_job
    from lab.errors import LabError

    with pytest.raises(LabError) as err:
        check_job(overrides)
    assert str(err.value).startswith(message), str(err.value)
