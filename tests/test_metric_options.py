"""Every metric is an option of metrics.run: each declares its keys, runs only where listed and where it applies, and
leaves the others' values as they are."""

import json

import pytest
from omegaconf import OmegaConf

from lab.experiment import run_experiment
from lab.loops import Null
from lab.metrics import Evaluator
from lab.metrics.base import On, declares, overlap, registry
from lab.metrics.points import PointEvaluator
from tests.conftest import compose_cfg, repo_root
from tests.test_tracking import chain_run, history_of


def image_row(evaluator, real) -> dict:
    """A full row: labels (label agreement) and a training set with its null (memorisation) given."""
    n = evaluator.num_samples
    return evaluator(real.train_images[-n:], real.train_labels[-n:], real.train_images[:600], Null(None, 1.0))


def test_a_metric_left_out_is_not_computed_and_the_others_keep_their_values(digits_evaluator):
    evaluator, real = digits_evaluator
    full = image_row(evaluator, real)
    cfg = compose_cfg("data=digits", "metrics.classifier.epochs=5", "metrics.kid.subsets=20", "metrics.run=[classes,kid,frechet]")
    fewer = Evaluator(real, cfg, "cpu", progress=False)  # the same classifier, from the session's cache
    row = image_row(fewer, real)
    assert list(row)[:2] == ["class_histogram", "classes_present"] and list(row)[-1] == "fd_classifier"  # in the list's order
    assert {k: full[k] for k in row} == row
    assert set(fewer.baseline) == set(row) and {k: evaluator.baseline[k] for k in row} == fewer.baseline
    assert not hasattr(fewer, "deciles")  # no metric of the list needs density scores: the density set is not embedded


def test_every_key_is_declared_by_exactly_one_metric_and_every_declared_key_is_logged(digits_evaluator):
    evaluator, real = digits_evaluator
    toy_cfg = compose_cfg("data=gmm25", "model=gmm", "metrics.num_samples=500")
    from lab.data import load_real_data

    points = PointEvaluator(load_real_data(toy_cfg.data), toy_cfg.metrics, toy_cfg.data)
    rows = {On.images: (evaluator, image_row(evaluator, real)), On.points: (points, points.baseline)}
    for on, (ev, row) in rows.items():
        for key in row:
            owners = [metric.name for metric in ev.metrics if declares(metric, key)]
            assert len(owners) == 1, (on, key, owners)
        for metric in ev.metrics:
            for declared in metric.keys:
                assert any(declared == key or (declared.endswith("*") and key.startswith(declared[:-1])) for key in row), (on, metric.name, declared)
    image_only = {name for name, metric in registry().items() if metric.on == {On.images}}
    assert {m.name for m in points.metrics} == {"w2", "moments", "knn_coverage", "tails", "entropy", "modes"} and not image_only & {
        m.name for m in points.metrics
    }


@pytest.mark.parametrize(
    ("a", "b", "clash"),
    [
        ("fd_*", "fd_classifier", True),
        ("tails/*", "tails/coverage_decile_0", True),
        ("classes/recall_*", "classes/knn_coverage_*", False),
        ("kid", "kid_std", False),
        ("kid", "kid", True),
    ],
)
def test_declared_keys_overlap_where_one_key_could_be_both(a, b, clash):
    assert overlap(a, b) is clash and overlap(b, a) is clash


@pytest.mark.slow  # a chain end to end with W&B's offline files
def test_a_chain_without_class_counts_writes_and_logs_its_rows(tmp_path):
    """Leaving out the metric that counts samples per class (here a toy's modes) leaves class_histogram out of the row
    and of W&B; everything else is written as before."""
    cfg = compose_cfg(
        "data=gmm25",
        "model=gmm",
        "loop.generations=2",
        "loop.train_size=400",
        "loop.num_samples=500",
        "metrics.num_samples=500",
        "tracking=offline",
        "progress=false",
        "metrics.run=[w2,tails]",
    )
    rows = run_experiment(cfg, tmp_path / "run")
    assert "class_histogram" not in rows[0] and {"metrics/w2", "metrics/knn_coverage_tail", "metrics/fit_variance_ratio"} <= set(rows[0])
    assert "metrics/modes_covered" not in rows[1]
    history = history_of(chain_run(tmp_path / "run"))
    assert [h["generation"] for h in history] == [0, 1] and all("class_histogram" not in h for h in history)
    saved = OmegaConf.load(tmp_path / "run" / "config.yaml")
    assert list(saved.metrics.run) == ["w2", "tails"]


STORED = repo_root() / "tests" / "data" / "toy_modes_before_metric_options"


def test_the_default_list_reproduces_a_run_stored_before_metrics_were_options(tmp_path):
    """`python -m lab experiment=toy_modes loop.generations=3 seed=0`, stored from the code before metrics.run existed:
    every key it logged, with its value (to 1e-9: another CPU's float rounding), and its real floor; the default list
    adds only the metrics added since."""
    cfg = compose_cfg("experiment=toy_modes", "loop.generations=3", "seed=0", "tracking=disabled", "progress=false")
    rows = run_experiment(cfg, tmp_path / "run")
    stored = [json.loads(line) for line in (STORED / "metrics.jsonl").read_text().splitlines()]
    added = {"metrics/knn_entropy"}
    for row, old in zip(rows, stored, strict=True):
        assert set(row) - set(old) <= added | {k for k in row if k.startswith("timing/")} and set(old) <= set(row)
        for key, value in old.items():
            assert row[key] == (pytest.approx(value, rel=1e-9, abs=1e-12) if isinstance(value, float) else value), key
    floor = json.loads((tmp_path / "run" / "reference.json").read_text())["real_baseline"]
    old_floor = json.loads((STORED / "reference.json").read_text())["real_baseline"]
    for key, value in old_floor.items():
        assert floor[key] == (pytest.approx(value, rel=1e-9, abs=1e-12) if isinstance(value, float) else value), key


def test_a_resumed_chain_keeps_the_metrics_it_started_with(tmp_path):
    """metrics.run is fixed when a chain starts: resumed or extended under another list (a newer default, or an older
    run that recorded none), every generation logs the keys generation 0 logged."""
    toy = ("data=gaussian", "model=gaussian", "loop.train_size=100", "loop.num_samples=500", "metrics.num_samples=500", "tracking=disabled", "progress=false")
    run_experiment(compose_cfg(*toy, "loop.generations=2", "metrics.run=[w2,moments]"), tmp_path / "run")
    rows = run_experiment(compose_cfg(*toy, "loop.generations=3"), tmp_path / "run")  # extended under the default list
    assert len(rows) == 3 and {k for k in rows[2] if k.startswith("metrics/")} == {k for k in rows[0] if k.startswith("metrics/")}
    assert "metrics/knn_entropy" not in rows[2] and "metrics/w2" in rows[2]
    # A run from before metrics.run existed: it computed the metrics of that time, and goes on computing them.
    config = tmp_path / "run" / "config.yaml"
    saved = OmegaConf.load(config)
    del saved.metrics["run"]
    config.write_text(OmegaConf.to_yaml(saved))
    rows = run_experiment(compose_cfg(*toy, "loop.generations=4"), tmp_path / "run")
    assert "metrics/knn_entropy" not in rows[3] and {"metrics/w2", "metrics/knn_coverage", "tails/coverage_decile_0"} <= set(rows[3])
