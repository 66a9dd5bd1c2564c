"""Precision/recall, density/coverage, KID, Vendi and the copy test against answers the maths gives."""

import pytest
import torch

from lab.metrics.kid import KID
from lab.metrics.manifold import Manifold, compare, knn_radius
from lab.metrics.memorisation import copy_share
from lab.metrics.vendi import vendi_score

K = 5


def draw(n, d=8, shift=0.0, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + shift


def scores(generated, real, k=K):
    return compare(Manifold.of(generated, k), Manifold.of(real, k)).scalars()


def test_identical_sets_score_one():
    x = draw(400)
    s = scores(x, x)
    assert s["precision"] == s["recall"] == s["knn_coverage"] == 1.0
    # Each point lies in its own ball and in those of the neighbours that count it among their k nearest.
    assert s["density"] >= 1.0


def test_disjoint_clusters_score_zero():
    s = scores(draw(400, shift=100.0, seed=1), draw(400))
    assert s == {"precision": 0.0, "recall": 0.0, "density": 0.0, "knn_coverage": 0.0}


def test_duplicates_compared_with_themselves_score_one():
    """The tie rule: N copies of one point have k-NN radius 0; with `≤` they lie inside (prdc's `<`: 0)."""
    copies = draw(1).repeat(300, 1)
    s = scores(copies, copies)
    assert s["precision"] == s["recall"] == s["knn_coverage"] == 1.0
    # Every copy sits in all 300 real balls: density = 300 / k (density is unbounded by design).
    assert s["density"] == pytest.approx(300 / K)


def test_one_real_image_repeated_n_times():
    """Full precision, recall of 1/N: the generated set's balls have radius 0 and hold one real point."""
    real = draw(500)
    s = scores(real[7:8].repeat(500, 1), real)
    assert s["precision"] == 1.0
    assert s["recall"] == pytest.approx(1 / 500)
    # Coverage: the real points whose own k-NN ball reaches that image; at least itself, few others.
    assert 1 / 500 <= s["knn_coverage"] < 0.05


def test_narrowed_generator_keeps_precision_and_loses_recall():
    """Samples from the core of the real distribution (MAD's λ < 1 in small): precise, not diverse."""
    real = draw(1000, seed=0)
    narrow = draw(1000, seed=1) * 0.5
    s = scores(narrow, real)
    assert s["precision"] > 0.95 and s["recall"] < 0.7


def test_same_precision_and_recall_as_torch_fidelity():
    """torch-fidelity ≥ 0.4 (generated first, real second, ties inside) is the maintained reference."""
    metric_prc = pytest.importorskip("torch_fidelity.metric_prc")
    real = draw(600, seed=0)
    generated = torch.cat([draw(500, seed=1) * 1.3 + 0.4, real[:50], real[:1].repeat(50, 1)])  # with copies
    ours = scores(generated, real)
    theirs = metric_prc.prc_features_to_metric(generated, real, prc_neighborhood=K, prc_batch_size=10000, save_cpu_ram=False, verbose=False)
    assert ours["precision"] == pytest.approx(theirs["precision"], abs=1e-6)
    assert ours["recall"] == pytest.approx(theirs["recall"], abs=1e-6)


def test_chunked_distances_give_the_same_answer(monkeypatch):
    import lab.metrics.manifold as manifold

    real, generated = draw(300, seed=0), draw(250, seed=1) * 1.2
    whole = compare(Manifold.of(generated, K), Manifold.of(real, K))
    monkeypatch.setattr(manifold, "CHUNK", 7)
    chunked = compare(Manifold.of(generated, K), Manifold.of(real, K))
    assert whole.scalars() == chunked.scalars()
    assert torch.equal(whole.real_in_generated, chunked.real_in_generated)


def test_recall_and_coverage_per_class_average_to_the_overall_values():
    labels = torch.arange(400) % 4
    real = draw(400) + 50.0 * labels[:, None]  # four separate clusters
    # Generated points only near the real points of classes 0 and 1.
    generated = real[labels < 2] + 1e-3
    comparison = compare(Manifold.of(generated, K), Manifold.of(real, K))
    per_class = comparison.per_class(labels, 4)
    for name in ("recall", "knn_coverage"):
        values = [per_class[f"classes/{name}_{c}"] for c in range(4)]
        assert values == [1.0, 1.0, 0.0, 0.0]
        assert sum(values) / 4 == pytest.approx(comparison.scalars()[name])


def test_one_outlying_sample_lifts_a_class_recall_but_not_its_coverage():
    # Class 1's real points get no sample near them; one far-away sample among a tight clump of class-0 copies
    # has a k-NN ball so wide that it holds every class-1 point: recall says class 1 is reproduced, coverage not.
    labels = torch.arange(200) % 2
    real = draw(200) + 20.0 * labels[:, None]
    clump = real[labels == 0][:50] + 1e-3
    outlier = torch.full((1, real.shape[1]), 12.0, dtype=torch.float64)
    comparison = compare(Manifold.of(torch.cat([clump, outlier]), K), Manifold.of(real, K))
    per_class = comparison.per_class(labels, 2)
    assert per_class["classes/recall_1"] == 1.0
    assert per_class["classes/knn_coverage_1"] == 0.0


def test_knn_radius_counts_neighbours_not_the_point_itself():
    x = torch.tensor([[0.0], [1.0], [3.0], [6.0]], dtype=torch.float64)
    assert knn_radius(x, 1).tolist() == [1.0, 1.0, 2.0, 3.0]
    assert knn_radius(x, 2).tolist() == [3.0, 2.0, 3.0, 5.0]
    assert knn_radius(x[2:3], 1, among=x).tolist() == [2.0]
    with pytest.raises(ValueError):
        knn_radius(x, 4)


def test_kid_is_near_zero_for_two_draws_and_positive_for_a_shift():
    reference = draw(1000, seed=0)
    kid = KID(reference, subsets=50, subset_size=500)
    same = kid(draw(1000, seed=1))
    shifted = kid(draw(1000, shift=0.5, seed=1))
    # Unbiased: two draws of one distribution give ≈ 0 (either sign), well inside the subset spread.
    assert abs(same["kid"]) < 2 * same["kid_std"] + 1e-3
    assert shifted["kid"] > 10 * same["kid_std"] and shifted["kid"] > 0
    # Seeded subsets: the same features give the same value, whatever the global random state.
    torch.manual_seed(123)
    assert kid(draw(1000, seed=1)) == same


def test_kid_standardises_by_the_reference_so_one_loud_direction_cannot_hide_a_shift():
    reference, samples = draw(1000, seed=0), draw(1000, shift=0.5, seed=1)
    plain = KID(reference, subsets=50, subset_size=500)(samples)
    # Rescaling each feature (both sets alike) leaves the standardised KID unchanged ...
    scale = torch.logspace(-2, 3, reference.shape[1], dtype=torch.float64)
    rescaled = KID(reference * scale, subsets=50, subset_size=500)(samples * scale)
    assert rescaled["kid"] == pytest.approx(plain["kid"], rel=1e-6)
    # ... so a direction with 1,000 times the spread, identical in both sets, no longer drowns the shift of the others.
    loud = torch.cat([reference, 1000 * draw(1000, seed=2)[:, :1]], 1), torch.cat([samples, 1000 * draw(1000, seed=3)[:, :1]], 1)
    shouted = KID(loud[0], subsets=50, subset_size=500)(loud[1])
    assert shouted["kid"] > 10 * shouted["kid_std"]


def test_vendi_score_counts_distinct_items():
    assert vendi_score(draw(1).repeat(50, 1)) == pytest.approx(1.0)
    assert vendi_score(torch.eye(30, dtype=torch.float64)) == pytest.approx(30.0)
    # Two groups of orthogonal items, equal sizes: 2 effective items.
    two = torch.cat([torch.eye(4)[:1].repeat(10, 1), torch.eye(4)[1:2].repeat(10, 1)])
    assert vendi_score(two) == pytest.approx(2.0)
    # Scale does not matter (cosine kernel), and the score is capped by the dimension.
    x = draw(500, d=8)
    assert vendi_score(3 * x) == pytest.approx(vendi_score(x))
    assert vendi_score(x) <= 8.0


def test_copy_share_tells_copies_from_fresh_draws():
    train = draw(500, seed=0)
    copies, distance = copy_share(train[:200] + 1e-6, train)
    assert copies == 1.0 and distance < 1e-5
    fresh, fresh_distance = copy_share(draw(500, seed=1), train)
    assert 0.1 < fresh < 0.7 and fresh_distance > 0.5
    far, _ = copy_share(draw(500, shift=20.0, seed=2), train)
    assert far == 0.0


def test_copy_share_equals_the_whole_set_rule():
    """Only the nearest training images' radii are computed; the answer is that of every radius."""
    train, queries = draw(300, seed=0), draw(200, seed=1) * 0.8
    radius = knn_radius(train, 1)
    closest, index = torch.cdist(queries, train).min(dim=1)
    expected = float((closest <= radius[index]).double().mean())
    assert copy_share(queries, train)[0] == pytest.approx(expected)
    # A training set with a duplicated image: its neighbour is at 0, so only an exact copy counts.
    doubled = torch.cat([train, train[:1]])
    assert copy_share(train[:1], doubled)[0] == 1.0
    assert copy_share(train[:1] + 1e-3, doubled)[0] == 0.0
