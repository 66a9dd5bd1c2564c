"""The promise to a researcher adding a regime, a mitigation, a generator or a data set: one new Python file
(lab/loops/, lab/curate/, lab/generators/, lab/datasets/) and one YAML file (conf/loop/, conf/curate/, conf/model/,
conf/data/), nothing else edited, and the whole lab (checks, CLI, run directory, metrics) takes it; a metric: one
Python file (lab/metrics/), named in metrics.run. The files added are docs/extending.md's worked examples, read from
the page: what it prints is what runs here."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import repo_root

pytestmark = pytest.mark.slow  # each test runs a chain of the lab copied with a new file: end to end


def examples() -> dict[str, str]:
    """docs/extending.md's worked examples: each fenced block headed by `# <path>` is that file, whole."""
    text = (repo_root() / "docs" / "extending.md").read_text()
    blocks = re.findall(r"```(?:python|yaml)\n(# (\S+)\n.*?)```", text, flags=re.S)
    return {path: block for block, path in blocks}


EXAMPLES = examples()


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
    lab = lab_copy(tmp_path, {path: EXAMPLES[path] for path in ("lab/curate/shrink.py", "conf/curate/shrink.yaml")})
    toy = ["data=gaussian", "model=gaussian", "loop.train_size=100", "loop.num_samples=1000", "loop.generations=2", "tracking=disabled", "progress=false"]
    result = lab(*toy, "curate=shrink", "run_dir=run")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["curate/changed"] for r in rows] == [1000, 1000]
    # Its own settings are typed and checked; another option's are not its settings.
    out_of_range, not_its_own = lab.checks([*toy, "curate=shrink", "curate.factor=2"], [*toy, "curate=shrink", "curate.threshold=0.5"])
    assert out_of_range == "error: curate.factor=2.0 is out of range: allowed 0 ≤ value ≤ 1"
    assert "curate.threshold is not a setting of curate=shrink" in not_its_own


def test_a_new_generator_is_one_python_file_and_one_yaml_file(tmp_path):
    lab = lab_copy(
        tmp_path,
        {path: EXAMPLES[path] for path in ("lab/generators/box.py", "conf/model/box.yaml")},
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
    lab = lab_copy(tmp_path, {path: EXAMPLES[path] for path in ("lab/loops/previous_two.py", "conf/loop/previous_two.yaml")})
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


def test_a_new_data_set_is_one_python_file_and_one_yaml_file(tmp_path):
    lab = lab_copy(tmp_path, {path: EXAMPLES[path] for path in ("lab/datasets/ring8.py", "conf/data/ring8.yaml")})
    toy = ["data=ring8", "model=gmm", "model.components=8", "loop.train_size=400", "loop.num_samples=500", "loop.generations=2", "tracking=disabled"]
    result = lab(*toy, "progress=false", "run_dir=run")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows[0]["class_histogram"]) == 8 and rows[0]["metrics/modes_covered"] == 8  # a fitted mixture keeps its 8 modes
    # Its own check, and the lab's: a toy data set takes the toy generators only.
    wrong_dim, with_images = lab.checks([*toy, "data.dim=3"], ["data=ring8"])
    assert wrong_dim == "error: data.dim=3 is not allowed for data=ring8 (a circle); allowed: 2"
    assert "data=ring8 holds points, not images" in with_images


CLASHING_METRIC = '''"""darkest: declares a key the pixels metric logs, so the two are refused together."""

from lab.metrics.base import Metric


class Darkest(Metric):
    name = "darkest"
    keys = ("dark_level",)

    def __call__(self, generated) -> dict[str, float]:
        return {"dark_level": 0.0}
'''


def test_a_new_metric_is_one_python_file(tmp_path):
    """A metric needs no YAML file: one module, named in metrics.run, is the whole of it."""
    import torch

    lab = lab_copy(tmp_path, {"lab/metrics/mean_brightness.py": EXAMPLES["lab/metrics/mean_brightness.py"], "lab/metrics/darkest.py": CLASHING_METRIC})
    smoke = ["experiment=smoke", "data=digits", "data.heldout_size=200", "tracking=disabled", "progress=false"]
    every = "metrics.run=[frechet,manifold,tails,feature_variance,kid,vendi,pixels,classes,memorisation,mean_brightness]"
    result = lab(*smoke, every, "run_dir=run")
    assert result.returncode == 0, result.stderr[-2000:]
    run = tmp_path / "run"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    n = int(json.loads((run / "reference.json").read_text())["num_samples"])
    for row in rows:  # the first N samples of each generation, as every metric sees them
        images = torch.load(run / "generations" / f"gen_{row['generation']:03d}.pt", weights_only=True)["images"][:n]
        assert row["metrics/mean_brightness"] == float(images.double().mean() / 255)
    floor = json.loads((run / "reference.json").read_text())["real_baseline"]["mean_brightness"]
    assert 0 < floor < 0.5  # the real floor gets it too: digits are dark strokes on a black background
    # Two metrics that log one key: refused before anything is written.
    (clash,) = lab.checks([*smoke, "metrics.run=[pixels,darkest]"])
    assert clash == "error: metrics pixels and darkest both log dark_level: take one of them out of metrics.run or rename its key"
