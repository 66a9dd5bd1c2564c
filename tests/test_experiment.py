"""A real (tiny) chain of generations in-process: files, provenance, checkpoints, warm start."""

import json

import pytest
import torch
from diffusers import UNet2DModel
from omegaconf import OmegaConf

from lab.errors import LabError
from lab.experiment import run_experiment
from tests.conftest import SMOKE


def test_a_chain_writes_its_run_directory(make_cfg, tmp_path):
    cfg = make_cfg(*SMOKE, "loop=mixed", "loop.generations=3")
    rows = run_experiment(cfg, tmp_path / "run", overrides=["loop=mixed"])
    run = tmp_path / "run"
    assert [r["generation"] for r in rows] == [0, 1, 2]
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert lines == rows
    assert rows[0]["provenance/real"] == 256 and "provenance/gen_0" not in rows[0]
    assert (rows[2]["provenance/real"], rows[2]["provenance/gen_1"]) == (128, 128)
    assert rows[2]["data/real_fraction"] == 0.5
    for key in ("metrics/fd_classifier", "metrics/classes_present", "metrics/class_entropy",
                "metrics/class_js_divergence", "metrics/unrecognised_share", "train/loss"):
        assert all(isinstance(r[key], float) for r in rows), key
    assert all(len(r["class_histogram"]) == 10 for r in rows)

    assert OmegaConf.load(run / "config.yaml").loop.name == "mixed"
    assert list(OmegaConf.load(run / "overrides.yaml")) == ["loop=mixed"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["gen_000.png", "gen_001.png", "gen_002.png"]
    saved = torch.load(run / "generations" / "gen_002.pt", weights_only=True)
    assert saved["images"].dtype == torch.uint8 and saved["images"].shape == (256, 1, 8, 8)
    assert saved["provenance"] == {"real": 128, "gen_1": 128}
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["gen_002"]  # loop.keep=last
    assert json.loads((run / "state.json").read_text())["completed_generations"] == 3
    reference = json.loads((run / "reference.json").read_text())
    assert 0 <= reference["classifier"]["heldout_accuracy"] <= 1 and "fd_classifier" in reference["real_baseline"]


def test_an_existing_run_is_never_overwritten(make_cfg, tmp_path):
    cfg = make_cfg(*SMOKE, "loop.generations=1")
    run_experiment(cfg, tmp_path / "run")
    before = (tmp_path / "run" / "metrics.jsonl").read_text()
    with pytest.raises(LabError, match="already holds a run"):
        run_experiment(cfg, tmp_path / "run")
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == before


def test_same_seed_same_metrics(make_cfg, tmp_path):
    cfg = make_cfg(*SMOKE, "loop=fresh", "loop.generations=2")
    a = run_experiment(cfg, tmp_path / "a")
    b = run_experiment(cfg, tmp_path / "b")
    strip = lambda rows: [{k: v for k, v in r.items() if not k.endswith("seconds") and k != "train/images_per_second"} for r in rows]
    assert strip(a) == strip(b)


def weights(path):
    return torch.cat([p.detach().flatten() for p in UNet2DModel.from_pretrained(path).parameters()])


@pytest.mark.parametrize("warm_start", [False, True])
def test_warm_start_continues_from_the_previous_generation(make_cfg, tmp_path, warm_start):
    cfg = make_cfg(*SMOKE, "loop.generations=2", "loop.keep=all", f"train.warm_start={warm_start}", "train.lr=1e-4")
    run_experiment(cfg, tmp_path / "run")
    ckpt = tmp_path / "run" / "checkpoints"
    gen0, gen1 = weights(ckpt / "gen_000" / "unet"), weights(ckpt / "gen_001" / "unet")
    # From scratch, generation 1 starts from a new random init; warm, from generation 0's weights.
    distance = float((gen1 - gen0).norm() / gen0.norm())
    assert (distance < 0.1) if warm_start else (distance > 0.5)
