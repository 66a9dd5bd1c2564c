"""The promise to a researcher adding a regime, a mitigation, a generator or a data set: one new Python file
(lab/loops/, lab/curate/, lab/generators/, lab/datasets/) and one YAML file (conf/loop/, conf/curate/, conf/model/,
conf/data/), nothing else edited, and the whole lab (checks, CLI, run directory, metrics) takes it; a metric: one
Python file (lab/metrics/plugins/)."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import repo_root

pytestmark = pytest.mark.slow  # each test runs a chain of the lab copied with a new file: end to end

NEW_LOOP = '''"""previous_two: the fixed real images + samples of the last two generations, half each."""

from lab.loops.base import Loop, Step, TrainingSet, concat


class PreviousTwo(Loop):
    name = "previous_two"

    def compose(self, step: Step) -> TrainingSet:
        t, n = step.generation, step.n_synthetic
        if t == 1:
            return concat(step.fixed_real(), step.samples_of(0))
        return concat(step.fixed_real(), step.samples_of(t - 1, n - n // 2), step.samples_of(t - 2, n // 2))
'''


NEW_MITIGATION = '''"""shrink: move every sample part of the way toward the samples' mean."""

from dataclasses import dataclass

from lab.curate.base import Curated, CurateConfig, Mitigation
from lab.errors import require
from lab.loops import Samples


@dataclass
class ShrinkConfig(CurateConfig):
    factor: float = 0.5


class Shrink(Mitigation):
    name = "shrink"
    Config = ShrinkConfig

    @staticmethod
    def check(cfg, on_points):
        require(0 <= cfg.factor <= 1, f"curate.factor={cfg.factor} is out of range: allowed 0 ≤ value ≤ 1")

    def __call__(self, first: Samples, model, n: int) -> Curated:
        moved = first.images + self.cfg.factor * (first.images.mean(0) - first.images)
        return Curated(Samples(first.generation, moved, first.labels), 0, len(moved), 1.0)
'''


def lab_copy(tmp_path, files: dict[str, str]):
    """The project's lab/ and conf/ with new files added, nothing else touched; the command line that runs it."""
    copy = tmp_path / "lab_copy"
    for part in ("lab", "conf"):
        shutil.copytree(repo_root() / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    for name, text in files.items():
        (copy / name).write_text(text)
    env = {"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "WANDB_SILENT": "true"}

    def lab(*args):
        return subprocess.run([sys.executable, "-m", "lab", *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)

    def checks(*jobs) -> list[str]:
        """The line `python -m lab JOB` would print for each job ("" where its checks pass), from one interpreter."""
        done = subprocess.run([sys.executable, "-c", CHECKS, json.dumps(jobs)], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.splitlines()[-1])

    lab.checks = checks
    return lab


# What `python -m lab` checks before Hydra starts a job, for several jobs in one interpreter (each its own would
# spend seconds importing torch).
CHECKS = """
import json, sys
from lab.__main__ import check_job
from lab.errors import LabError
lines = []
for job in json.loads(sys.argv[1]):
    try:
        check_job(job)
        lines.append("")
    except LabError as exc:
        lines.append(f"error: {exc}")
print(json.dumps(lines))
"""


def test_a_new_mitigation_is_one_python_file_and_one_yaml_file(tmp_path):
    lab = lab_copy(
        tmp_path, {"lab/curate/shrink.py": NEW_MITIGATION, "conf/curate/shrink.yaml": "defaults:\n  - schema_shrink\n  - _self_\nname: shrink\nfactor: 0.25\n"}
    )
    toy = ["data=gaussian", "model=gaussian", "loop.train_size=100", "loop.num_samples=1000", "loop.generations=2", "tracking=disabled", "progress=false"]
    result = lab(*toy, "curate=shrink", "run_dir=run")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["curate/changed"] for r in rows] == [1000, 1000]
    # Its own settings are typed and checked; another option's are not its settings.
    out_of_range, not_its_own = lab.checks([*toy, "curate=shrink", "curate.factor=2"], [*toy, "curate=shrink", "curate.threshold=0.5"])
    assert out_of_range == "error: curate.factor=2.0 is out of range: allowed 0 ≤ value ≤ 1"
    assert "curate.threshold is not a setting of curate=shrink" in not_its_own


NEW_GENERATOR = '''"""box: points drawn uniformly from the training set's bounding box, widened by model.margin."""

from dataclasses import dataclass

import torch

from lab.errors import at_least
from lab.generators.base import Fit, Generator, ModelConfig
from lab.loops import Samples, TrainingSet
from lab.seeding import generator


@dataclass
class BoxConfig(ModelConfig):
    margin: float = 0.0


class BoxGenerator(Generator):
    family = "box"
    Config = BoxConfig
    on_points = True

    @staticmethod
    def check(cfg):
        at_least("model.margin", cfg.model.margin, 0)

    def __init__(self, cfg, real, device, progress):
        self.seed, self.margin = int(cfg.seed), float(cfg.model.margin)

    def fit(self, data: TrainingSet, generation: int) -> Fit:
        self.low, self.high = data.images.min(0).values - self.margin, data.images.max(0).values + self.margin
        return Fit()

    def sample(self, n: int, generation: int, draw: int = 0) -> Samples:
        u = torch.rand((n, len(self.low)), generator=generator(self.seed, generation, f"box{draw}"))
        return Samples(generation, self.low + u * (self.high - self.low), torch.full((n,), -1))

    def save(self, directory):
        directory.mkdir(parents=True, exist_ok=True)
        torch.save({"low": self.low, "high": self.high}, directory / "box.pt")

    def load(self, directory):
        saved = torch.load(directory / "box.pt")
        self.low, self.high = saved["low"], saved["high"]
'''


def test_a_new_generator_is_one_python_file_and_one_yaml_file(tmp_path):
    lab = lab_copy(
        tmp_path,
        {"lab/generators/box.py": NEW_GENERATOR, "conf/model/box.yaml": "defaults:\n  - schema_box\n  - _self_\nname: box\nfamily: box\nmargin: 0.5\n"},
    )
    toy = ["data=gaussian", "model=box", "loop.train_size=100", "loop.num_samples=1000", "loop.generations=3", "tracking=disabled", "progress=false"]
    result = lab(*toy, "run_dir=run")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    # A box widened by half a unit each generation around N(0, 1) points: the spread grows, as it must.
    assert rows[0]["metrics/variance_ratio"] < rows[1]["metrics/variance_ratio"] < rows[2]["metrics/variance_ratio"]
    negative, on_images = lab.checks([*toy, "model.margin=-1"], ["model=box"])
    assert negative == "error: model.margin=-1.0 is out of range: allowed ≥ 0"
    assert "model=box fits points of a toy data set" in on_images  # toy or image: the family says it


def test_a_new_loop_is_one_python_file_and_one_yaml_file(tmp_path):
    lab = lab_copy(tmp_path, {"lab/loops/previous_two.py": NEW_LOOP, "conf/loop/previous_two.yaml": "name: previous_two\n"})
    args = [
        "data=gaussian",
        "model=gaussian",
        "loop=previous_two",
        "loop.real_fraction=0.2",
        "loop.train_size=100",
        "loop.generations=4",
        "tracking=disabled",
        "progress=false",
        "run_dir=run",
    ]
    result = lab(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    provenance = [{k.removeprefix("provenance/"): v for k, v in row.items() if k.startswith("provenance/")} for row in rows]
    assert provenance == [{"real": 100}, {"real": 20, "gen_0": 80}, {"real": 20, "gen_0": 40, "gen_1": 40}, {"real": 20, "gen_1": 40, "gen_2": 40}]
    # The one-line checks know it too: the loop list they print comes from the package, not from a list to edit.
    bad = lab("loop=previous_three")
    assert bad.returncode == 2 and "previous_two" in bad.stderr


NEW_DATASET = '''"""ring8: eight equally weighted modes on a circle of radius data.radius (toy points)."""

import math

import torch

from lab.datasets.base import PointDataSet
from lab.errors import require
from lab.toy_data import Distribution


class Ring8(PointDataSet):
    name = "ring8"

    @staticmethod
    def check(data_cfg):
        require(data_cfg.dim == 2, f"data.dim={data_cfg.dim} is not allowed for data=ring8 (a circle); allowed: 2")

    def distribution(self, data_cfg) -> Distribution:
        angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        modes = 3.0 * torch.stack([angles.cos(), angles.sin()], 1)
        weights = torch.full((8,), 1 / 8, dtype=torch.float64)
        cov = torch.cov(modes.T, correction=0) + 0.01 * torch.eye(2, dtype=torch.float64)
        return Distribution(modes.mean(0), cov, modes, 0.1, weights)
'''


def test_a_new_data_set_is_one_python_file_and_one_yaml_file(tmp_path):
    yaml = "defaults:\n  - schema_points\n  - _self_\nname: ring8\ndim: 2\npool_size: 2000\nheldout_size: 500\n"
    lab = lab_copy(tmp_path, {"lab/datasets/ring8.py": NEW_DATASET, "conf/data/ring8.yaml": yaml})
    toy = ["data=ring8", "model=gmm", "model.components=8", "loop.train_size=400", "loop.num_samples=500", "loop.generations=2", "tracking=disabled"]
    result = lab(*toy, "progress=false", "run_dir=run")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows[0]["class_histogram"]) == 8 and rows[0]["metrics/modes_covered"] == 8  # a fitted mixture keeps its 8 modes
    # Its own check, and the lab's: a toy data set takes the toy generators only.
    wrong_dim, with_images = lab.checks([*toy, "data.dim=3"], ["data=ring8"])
    assert wrong_dim == "error: data.dim=3 is not allowed for data=ring8 (a circle); allowed: 2"
    assert "data=ring8 holds points, not images" in with_images


NEW_METRIC = '''"""mean_brightness: the samples' mean pixel value, 0 (black) … 1 (white)."""

from lab.metrics.plugins.base import Metric


class MeanBrightness(Metric):
    name = "mean_brightness"

    def __call__(self, generated) -> dict[str, float]:
        return {"mean_brightness": float(generated.images.double().mean() / 255)}
'''


def test_a_new_metric_is_one_python_file(tmp_path):
    """A metric has no option to choose (every metric runs), so it needs no YAML file: one module is the whole of it."""
    import torch

    lab = lab_copy(tmp_path, {"lab/metrics/plugins/mean_brightness.py": NEW_METRIC})
    smoke = ["experiment=smoke", "data=digits", "data.heldout_size=200", "tracking=disabled", "progress=false", "run_dir=run"]
    result = lab(*smoke)
    assert result.returncode == 0, result.stderr[-2000:]
    run = tmp_path / "run"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    n = int(json.loads((run / "reference.json").read_text())["num_samples"])
    for row in rows:  # the first N samples of each generation, as every metric sees them
        images = torch.load(run / "generations" / f"gen_{row['generation']:03d}.pt", weights_only=True)["images"][:n]
        assert row["metrics/mean_brightness"] == float(images.double().mean() / 255)
    floor = json.loads((run / "reference.json").read_text())["real_baseline"]["mean_brightness"]
    assert 0 < floor < 0.5  # the real floor gets it too: digits are dark strokes on a black background
