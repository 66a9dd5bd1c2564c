"""Coverage by density (lab/metrics/tails.py) against known answers."""

import pytest
import torch

from lab.metrics.manifold import Manifold, compare
from lab.metrics.tails import DECILES, DensityDeciles, KnnDensity, naeem_null_coverage, tail_metrics

K, N = 5, 1000


def gaussian(n, d, seed, scale=1.0):
    return scale * torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def evaluate(reference, density_set, samples, k=K):
    """What the image Evaluator computes: deciles from the density set, coverage from the reference's own balls."""
    density = KnnDensity(density_set, k)
    deciles = DensityDeciles.of(density(reference))
    covered = compare(Manifold.of(samples, k), Manifold.of(reference, k)).real_covered
    return tail_metrics(deciles, covered, density(samples)), deciles, covered


def per_decile(out, name):
    return torch.tensor([out[f"tails/{name}_decile_{j}"] for j in range(DECILES)])


def test_naeem_closed_form():
    assert naeem_null_coverage(1000, 1000, 5) == pytest.approx(0.969, abs=5e-4)
    # One sample per reference point and k = 1: missed with probability (N − 1)/(2N − 1), about a half.
    assert naeem_null_coverage(100, 100, 1) == pytest.approx(1 - 99 / 199)


def test_iid_samples_cover_every_decile_at_the_closed_form_and_land_a_tenth_in_each():
    coverage, landing, off_support = [], [], []
    for seed in range(20):
        out, _, _ = evaluate(gaussian(N, 4, 3 * seed), gaussian(N, 4, 3 * seed + 1), gaussian(N, 4, 3 * seed + 2))
        coverage.append(per_decile(out, "coverage"))
        landing.append(per_decile(out, "landing"))
        off_support.append(out["landing_off_support"])
    expected = naeem_null_coverage(N, N, K)
    assert torch.stack(coverage).mean(0).sub(expected).abs().max() < 0.01
    assert torch.stack(landing).sub(0.1).abs().max() < 0.05  # every seed: binomial noise of 1,000 draws
    assert torch.stack(landing).mean(0).sub(0.1).abs().max() < 0.01
    assert sum(off_support) / 20 < 0.005  # 1/(N+1) expected


def test_samples_without_the_outer_fifth_of_the_mass_lose_the_sparsest_decile_not_the_core():
    for seed in range(3):
        pool = gaussian(5 * N, 2, 3 * seed + 2)
        radius = pool.norm(dim=1)
        inner = pool[radius <= radius.quantile(0.8)][:N]
        out, _, _ = evaluate(gaussian(N, 2, 3 * seed), gaussian(N, 2, 3 * seed + 1), inner)
        assert out["knn_coverage_tail"] < 0.3
        assert out["knn_coverage_core"] > 0.93
        assert out["landing_tail"] < 0.03  # nothing lands where the sparsest tenth of the reference lies


def test_a_rare_separated_mode_missing_from_the_samples_is_uncovered():
    def mixture(seed):
        x = gaussian(N, 2, seed)
        x[:30] += 50.0  # 3 % of the mass in a far mode
        return x

    reference = mixture(0)
    samples = gaussian(N, 2, 2)  # the main mode only
    out, deciles, covered = evaluate(reference, mixture(1), samples)
    assert not covered[:30].any()
    assert covered[30:].double().mean() > 0.9
    # Each decile loses exactly its share of the rare mode's points.
    rare_per_decile = torch.bincount(deciles.decile[:30], minlength=DECILES).double()
    expected = deciles.coverage(covered)
    for j in range(DECILES):
        assert expected[j] <= 1 - rare_per_decile[j] / (N // DECILES)


def test_samples_equal_to_the_reference_cover_everything_and_land_evenly():
    reference = gaussian(N, 3, 0)
    out, _, _ = evaluate(reference, gaussian(N, 3, 1), reference.clone())
    assert per_decile(out, "coverage").eq(1.0).all()
    assert per_decile(out, "landing").eq(0.1).all()
    assert out["landing_off_support"] == 0.0


def test_permutation_scaling_and_translation_change_nothing():
    reference, density_set, samples = gaussian(N, 3, 0), gaussian(N, 3, 1), gaussian(N, 3, 2, scale=0.7)
    base, _, _ = evaluate(reference, density_set, samples)
    shuffle = torch.randperm(N, generator=torch.Generator().manual_seed(5))
    assert evaluate(reference[shuffle], density_set[shuffle.flip(0)], samples[shuffle])[0] == base
    assert evaluate(4.0 * reference, 4.0 * density_set, 4.0 * samples)[0] == base  # a power of two: exact
    shift = torch.tensor([3.0, -1.0, 0.5], dtype=torch.float64)
    moved, _, _ = evaluate(reference + shift, density_set + shift, samples + shift)
    assert moved.keys() == base.keys()
    assert all(moved[key] == pytest.approx(base[key], abs=1e-12) for key in base)


def test_reference_plus_large_noise_lands_off_support():
    reference = gaussian(N, 3, 0)
    out, _, _ = evaluate(reference, gaussian(N, 3, 1), reference + gaussian(N, 3, 2, scale=10.0))
    assert out["landing_off_support"] > 0.9
    assert out["knn_coverage_core"] < 0.1


def test_deciles_hold_a_tenth_of_the_reference_each_sparsest_first():
    scores = gaussian(1003, 1, 0).flatten()
    deciles = DensityDeciles.of(scores)
    sizes = torch.bincount(deciles.decile, minlength=DECILES)
    assert sizes.max() - sizes.min() <= 1
    assert scores[deciles.decile == 0].max() < scores[deciles.decile == 1].min()
    assert scores[deciles.decile == 9].min() == deciles.edges[9]
    with pytest.raises(ValueError):
        DensityDeciles.of(scores[:9])
