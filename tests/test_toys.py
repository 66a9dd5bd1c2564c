"""The toy generators through the same run machinery as the diffusion model: run directory, resume, W&B."""

import json

import pytest
import torch

from lab import generators
from lab.__main__ import check_job
from lab.data import load_real_data
from lab.errors import LabError
from lab.experiment import run_experiment
from lab.loops import compose
from lab.rundir import RunDir
from tests.conftest import compose_cfg
from tests.test_tracking import chain_run, history_of, live_runs


def fitted(*overrides):
    cfg = compose_cfg(*overrides)
    real = load_real_data(cfg.data)
    model = generators.build(cfg, real, "cpu", progress=False)
    model.fit(compose("fully_synthetic", 0, real.train_images, real.train_labels, [], 2000, 0.0, 0), 0)
    return model


def test_gaussian_samples_have_the_fitted_mean_and_lambda_times_the_fitted_covariance():
    model = fitted("model=gaussian", "data=gaussian", "data.dim=3", "model.sampling_bias=0.5")
    points = model.sample(40000, 1).images.double()
    assert torch.allclose(points.mean(0), model.mean, atol=0.02)
    assert torch.allclose(torch.cov(points.T), 0.5 * model.cov, atol=0.02)
    assert torch.equal(model.sample(10, 1).images, model.sample(10, 1).images)  # seeded: the same draw twice
    assert not torch.equal(model.sample(10, 1).images, model.sample(10, 1, draw=1).images)


def test_the_mixture_finds_the_25_modes_of_the_grid():
    model = fitted("model=gmm", "data=gmm25")
    grid = torch.cartesian_prod(*[torch.arange(-4.0, 5.0, 2.0, dtype=torch.float64)] * 2)
    assert torch.cdist(grid, model.means).min(1).values.max() < 0.1  # every true mode has a component on it
    assert torch.allclose(model.weights.sum(), torch.tensor(1.0, dtype=torch.float64))


@pytest.mark.slow  # three chains end to end with W&B's offline files
def test_a_toy_chain_resumes_to_the_same_rows_and_logs_each_generation_once(tmp_path):
    overrides = (
        "model=gmm",
        "data=gmm25",
        "loop=accumulate",
        "loop.generations=3",
        "loop.train_size=400",
        "loop.num_samples=500",
        "metrics.num_samples=500",
        "tracking=offline",
        "progress=false",
    )
    cfg = compose_cfg(*overrides)
    whole = run_experiment(cfg, tmp_path / "whole")
    assert {"metrics/w2", "metrics/modes_covered", "metrics/fit_variance_ratio", "fit/em_iterations"} <= set(whole[0])
    assert len(whole[2]["class_histogram"]) == 25 and sum(whole[2]["class_histogram"]) <= 500
    assert (tmp_path / "whole" / "checkpoints" / "gen_002" / "parameters.pt").exists()

    # Interrupted after generation 0 (state.json is the commit point), then the same command again.
    run = tmp_path / "cut"
    run_experiment(cfg, run)
    RunDir(run).rewind(RunDir(run).read_state(), 1)
    resumed = run_experiment(cfg, run)
    assert resumed == whole
    assert (run / "metrics.jsonl").read_text() == (tmp_path / "whole" / "metrics.jsonl").read_text()
    live = live_runs(run)
    assert live[RunDir(run).read_state()["wandb_run_id"]] == 1 and set(live.values()) == {1}  # the chain's run and its lineage runs, once each
    assert [h["generation"] for h in history_of(chain_run(run))] == [0, 1, 2]
    reference = json.loads((run / "reference.json").read_text())
    assert reference["classifier"] is None and reference["real_baseline"]["modes_covered"] == 25


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["model=gaussian"], "model=gaussian fits points of a toy data set; allowed with it: data=gaussian|gmm25"),
        (["data=gaussian"], "data=gaussian holds points, not images; allowed with it: the toy generators, model=gaussian|gmm"),
        (["model=gmm", "data=gmm25", "data.dim=3"], "data.dim=3 is not allowed for data=gmm25 (a 2-D grid); allowed: 2"),
        (["model=gaussian", "data=gaussian", "model.sampling_bias=0"], "model.sampling_bias=0.0 is out of range: allowed 0 < λ ≤ 1 (1: unbiased)"),
        (["model=gaussian", "data=gaussian", "model.estimator=mle"], "model.estimator=mle is not allowed; allowed: ml, unbiased"),
        (["model=gmm", "data=gmm25", "model.components=0"], "model.components=0 is out of range: allowed ≥ 1"),
        (["model=gmm", "data=gmm25", "loop.train_size=20"], "loop.train_size=20 is too small for model=gmm: allowed ≥ 25"),
        (["model=gaussian", "data=gaussian", "loop.train_size=1"], "loop.train_size=1 is too small for model=gaussian: allowed ≥ 2"),
        (["data.dim=3"], "data.dim is not a setting of data=mnist5k; its settings: name, heldout_size"),
        (
            ["model.sampling_bias=0.5"],
            "model.sampling_bias is not a setting of model=cpu; its settings: name, family, conditional, block_out_channels, "
            "layers_per_block, norm_num_groups, attention",
        ),
        (
            ["model=gmm", "data=gmm25", "data.resolution=16"],
            "data.resolution is not a setting of data=gmm25; its settings: name, heldout_size, split_seed, class_shares, dim, pool_size",
        ),
        (
            ["model=gaussian", "data=gaussian", "model.components=3"],
            "model.components is not a setting of model=gaussian; its settings: name, family, conditional, estimator, sampling_bias",
        ),
        (["model=gaussian", "data=gaussian", "model.family=gmm"], "model.family=gmm is not the family of model=gaussian; choose the family by its options"),
    ],
)
def test_toy_settings_are_checked(overrides, message):
    """Hydra rejects a key the chosen family's schema lacks; the family's own checks guard its ranges."""
    with pytest.raises(LabError) as caught:
        check_job(overrides)
    assert str(caught.value).startswith(message), str(caught.value)


def test_the_weighted_grid_has_the_log_density_of_its_mixture_and_draws_its_weights():
    from lab.datasets import REGISTRY

    shares = [0.85**k for k in range(25)]
    truth = REGISTRY["gmm25"].distribution(compose_cfg("data=gmm25", "model=gmm", f"data.class_shares={shares}").data)
    weights = torch.tensor(shares, dtype=torch.float64) / sum(shares)
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(weights), torch.distributions.Independent(torch.distributions.Normal(truth.modes, truth.mode_std), 1)
    )
    points, labels = truth.sample(20000, torch.Generator().manual_seed(0))
    assert torch.allclose(truth.log_density(points), mixture.log_prob(points.double()), atol=1e-9)
    assert torch.bincount(labels, minlength=25).double().div(20000).sub(weights).abs().max() < 0.01
    assert torch.allclose(truth.mean, points.double().mean(0), atol=0.05)


def test_toy_coverage_by_true_density_sits_at_the_null_for_true_samples_and_loses_the_tails_when_they_shrink():
    from lab.metrics.points import PointEvaluator
    from lab.metrics.tails import naeem_null_coverage

    cfg = compose_cfg("data=gaussian", "model=gaussian", "data.dim=2", "loop.num_samples=1000")
    real = load_real_data(cfg.data)
    evaluator = PointEvaluator(real, cfg.metrics, cfg.data)
    tails = [evaluator(real.distribution.sample(1000, torch.Generator().manual_seed(s))[0]) for s in range(10)]
    null = naeem_null_coverage(1000, 1000, int(cfg.metrics.nearest_k))
    # The reference is one fixed draw per data split: a decile's 100 points carry its luck (about ±0.03); the
    # whole reference's 1,000 average it out.
    assert sum(t["knn_coverage"] for t in tails) / 10 == pytest.approx(null, abs=0.01)
    for key in ("knn_coverage_tail", "knn_coverage_core"):
        assert sum(t[key] for t in tails) / 10 == pytest.approx(null, abs=0.04)
    assert sum(t["landing_tail"] for t in tails) / 10 == pytest.approx(0.1, abs=0.03)
    shrunk = evaluator(0.6 * real.distribution.sample(1000, torch.Generator().manual_seed(99))[0])
    assert shrunk["knn_coverage_tail"] < 0.3 < 0.9 < shrunk["knn_coverage_core"]
    assert shrunk["landing_tail"] < 0.02
