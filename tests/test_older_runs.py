"""Runs made before a setting existed: the value that reproduces them is declared beside the setting's definition,
and resume reads it from the schema."""

from dataclasses import dataclass

from lab.older_runs import added_later
from lab.samplers.base import SamplerConfig
from lab.schema import older_run_values


def test_the_schema_says_what_every_older_run_did():
    added, removed = older_run_values()
    assert added == {
        "model.family": "diffusion",
        "curate.name": "none",
        "curate.max_draws": 10,
        "merge.name": "none",
        "merge.lr_scale": 1.0,
        "metrics.mode_min_share": 0.01,
        "metrics.class_min_share": 0.0,
        "train.timesteps": "uniform",
        "train.synthetic_weight": 1.0,
        "train.speed.compile_mode": "reduce-overhead",
        "train.speed.device_draws": "auto",
        "sampler.compile": "auto",
        "sampler.bf16": False,
        "sampler.labels": "real_pool",
        "loop.heldback_samples": 0,
        "loop.schedule": [],
        "metrics.run": [
            "frechet",
            "w2",
            "moments",
            "manifold",
            "knn_coverage",
            "tails",
            "feature_variance",
            "kid",
            "vendi",
            "pixels",
            "classes",
            "memorisation",
            "modes",
        ],
    }
    assert removed == {"data.download": False}


def test_an_options_own_setting_added_later_is_found_where_it_is_defined():
    @dataclass
    class LaterSamplerConfig(SamplerConfig):  # an option's schema, as a new sampler would define it
        churn: float = added_later(0.0, 0.5)

    added, _ = older_run_values.__wrapped__()  # past the cache: the class above is new
    assert added["sampler.churn"] == 0.0
