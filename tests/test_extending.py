"""The promise to a researcher adding a regime: one new Python file in lab/loops/ and one YAML file in conf/loop/,
nothing else edited, and the whole lab (checks, CLI, run directory, metrics) takes it."""

import json
import shutil
import subprocess
import sys

from tests.conftest import repo_root

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


def test_a_new_loop_is_one_python_file_and_one_yaml_file(tmp_path):
    copy = tmp_path / "lab_copy"
    for part in ("lab", "conf"):
        shutil.copytree(repo_root() / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "lab" / "loops" / "previous_two.py").write_text(NEW_LOOP)
    (copy / "conf" / "loop" / "previous_two.yaml").write_text("name: previous_two\n")
    env = {"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "WANDB_SILENT": "true"}
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
    result = subprocess.run([sys.executable, "-m", "lab", *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    provenance = [{k.removeprefix("provenance/"): v for k, v in row.items() if k.startswith("provenance/")} for row in rows]
    assert provenance == [{"real": 100}, {"real": 20, "gen_0": 80}, {"real": 20, "gen_0": 40, "gen_1": 40}, {"real": 20, "gen_1": 40, "gen_2": 40}]
    # The one-line checks know it too: the loop list they print comes from the package, not from a list to edit.
    bad = subprocess.run([sys.executable, "-m", "lab", "loop=previous_three"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert bad.returncode == 2 and "previous_two" in bad.stderr
