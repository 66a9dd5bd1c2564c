"""A real (tiny) chain of generations in-process: files, provenance, checkpoints, warm start."""

import json

import pytest
import torch
from diffusers import UNet2DModel
from omegaconf import OmegaConf

from lab.errors import LabError
from lab.experiment import run_experiment
from lab.train import use_bf16
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
    for key in (
        "metrics/fd_classifier",
        "metrics/classes_present",
        "metrics/class_entropy",
        "metrics/class_js_divergence",
        "metrics/unrecognised_share",
        "train/loss",
    ):
        assert all(isinstance(r[key], float) for r in rows), key
    assert all(len(r["class_histogram"]) == 10 for r in rows)

    assert OmegaConf.load(run / "config.yaml").loop.name == "mixed"
    assert list(OmegaConf.load(run / "overrides.yaml")) == ["loop=mixed"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["gen_000.png", "gen_001.png", "gen_002.png"]
    saved = torch.load(run / "generations" / "gen_002.pt", weights_only=True)
    assert saved["images"].dtype == torch.uint8 and saved["images"].shape == (256, 1, 8, 8)
    assert saved["provenance"] == {"real": 128, "gen_1": 128}
    # Held-back samples for the successor's memorisation null, never in a training set.
    held = torch.load(run / "generations" / "gen_001.pt", weights_only=True)["heldback"]
    assert held.shape == (int(cfg.loop.heldback_samples), 1, 8, 8)
    assert all(0 <= r["metrics/copy_share_null"] <= 1 for r in rows)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["gen_002"]  # loop.keep=last
    assert json.loads((run / "state.json").read_text())["completed_generations"] == 3
    timing = [json.loads(line) for line in (run / "timing.jsonl").read_text().splitlines()]
    # auto's precision depends on the CPU: the run records what it resolved to
    bf16_here = float(use_bf16("auto", torch.device("cpu")))
    assert [t["timing/train_bf16"] for t in timing] == [bf16_here] * 3
    assert [t["timing/sample_bf16"] for t in timing] == [bf16_here] * 3
    reference = json.loads((run / "reference.json").read_text())
    assert 0 <= reference["classifier"]["heldout_accuracy"] <= 1 and "fd_classifier" in reference["real_baseline"]


def test_a_finished_run_is_left_alone_and_other_settings_never_touch_it(make_cfg, tmp_path):
    cfg = make_cfg(*SMOKE, "loop.generations=1")
    first = run_experiment(cfg, tmp_path / "run")
    before = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file() and "wandb" not in p.parts}
    assert run_experiment(cfg, tmp_path / "run") == first  # finished: nothing redone
    other = make_cfg(*SMOKE, "loop.generations=1", "seed=1")
    with pytest.raises(LabError, match=r"holds a run with other settings \(seed: 0 there, 1 now\)"):
        run_experiment(other, tmp_path / "run")
    after = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file() and "wandb" not in p.parts}
    assert after == before


def test_a_foreign_directory_is_never_written_into(make_cfg, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LabError, match="is not empty and holds no run state"):
        run_experiment(make_cfg(*SMOKE, "loop.generations=1"), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.slow  # two chains end to end (the stored toy run and the resume tests check determinism in the fast tier)
def test_same_seed_same_metrics(make_cfg, tmp_path):
    cfg = make_cfg(*SMOKE, "loop=fresh", "loop.generations=2")
    assert run_experiment(cfg, tmp_path / "a") == run_experiment(cfg, tmp_path / "b")


@pytest.mark.slow  # three warm-started chains end to end (the integrity tests resume in the fast tier)
def test_resume_after_a_lost_generation_equals_an_uninterrupted_run(make_cfg, tmp_path):
    """Simulates a kill after generation 1 had half-written its files; the slow tier kills a real process."""
    cfg = make_cfg(*SMOKE, "loop=accumulate", "loop.generations=3", "train.warm_start=true")
    whole = run_experiment(cfg, tmp_path / "whole")
    cut = make_cfg(*SMOKE, "loop=accumulate", "loop.generations=2", "train.warm_start=true")
    run_experiment(cut, tmp_path / "cut")
    run = tmp_path / "cut"
    # Pretend the kill came during generation 2 … then the same command again (with 3 generations).
    (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("generations: 2", "generations: 3"))
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"generation": 2, "metrics/fd_cl')  # a row cut short
    (run / "generations" / "gen_002.pt.tmp").write_bytes(b"half")
    resumed = run_experiment(cfg, run)
    assert resumed == whole
    assert [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()] == whole
    assert not list(run.rglob("*.tmp"))


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


@pytest.mark.slow  # three generations of a real training: end to end
def test_a_generation_trained_on_real_data_only_scores_like_generation_0(make_cfg, tmp_path):
    """With no synthetic data (mixed at real_fraction=1) every later generation is a retrained generation 0:
    its Fréchet distance must stay within retraining noise of generation 0's. A generation ≥ 1 path that
    differs from generation 0's (data, labels, model, sampler state) fails."""
    cfg = make_cfg(*SMOKE, "loop=mixed", "loop.real_fraction=1.0", "loop.generations=3", "train.images=3072", "train.batch_size=64", "sampler.steps=10")
    rows = run_experiment(cfg, tmp_path / "run")
    fd = [r["metrics/fd_classifier"] for r in rows]
    assert all(r["provenance/real"] == 256 and "provenance/gen_0" not in r for r in rows)
    assert max(fd[1:]) < 1.5 * fd[0] and min(fd[1:]) > fd[0] / 1.5, fd


def test_another_options_null_setting_does_not_make_a_run_foreign(make_cfg, tmp_path):
    from lab.rundir import RunDir

    cfg = make_cfg(*SMOKE)
    older = OmegaConf.to_container(cfg, resolve=True)
    older["sampler"]["eta"] = None  # the flat union of every sampler's settings, before the samplers' own schemas
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(older)))
    RunDir(tmp_path).check_resumable(cfg)
    older["sampler"]["steps"] = 99
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(older)))
    with pytest.raises(LabError, match=r"other settings \(sampler.steps: 99 there, 4 now\)"):
        RunDir(tmp_path).check_resumable(cfg)


def test_settings_added_with_the_toys_and_curate_do_not_make_an_older_run_foreign(make_cfg, tmp_path):
    from lab.rundir import RunDir

    cfg = make_cfg(*SMOKE)
    older = OmegaConf.to_container(cfg, resolve=True)
    del older["curate"], older["model"]["family"], older["metrics"]["mode_min_share"]  # a run from before them
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(older)))
    RunDir(tmp_path).check_resumable(cfg)
    # Asked for anything but what the code did before, the older run is another run.
    with pytest.raises(LabError, match=r"other settings \(curate.name: absent, so none, there, verifier now"):
        RunDir(tmp_path).check_resumable(make_cfg(*SMOKE, "curate=verifier"))


def test_a_run_from_before_sampler_bf16_resumes_only_as_it_sampled_then(make_cfg, tmp_path):
    """Runs before sampler.bf16 sampled in fp32 everywhere; auto would change that midway on a CPU with bf16 units,
    so they resume with sampler.bf16=false, and auto stops with one line naming the setting."""
    from lab.rundir import RunDir

    older = OmegaConf.to_container(make_cfg(*SMOKE), resolve=True)
    del older["sampler"]["bf16"]
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(older)))
    RunDir(tmp_path).check_resumable(make_cfg(*SMOKE, "sampler.bf16=false"))
    with pytest.raises(LabError, match=r"other settings \(sampler.bf16: absent, so False, there, auto now\)"):
        RunDir(tmp_path).check_resumable(make_cfg(*SMOKE))


def test_a_run_from_before_the_label_source_and_class_min_share_resumes_as_it_ran_then(make_cfg, tmp_path):
    """Runs before sampler.labels drew labels from the real pool's shares (today's default) and counted a class present
    on one sample (class_min_share 0): they resume with metrics.class_min_share=0, and the default stops with one line."""
    from lab.rundir import RunDir

    older = OmegaConf.to_container(make_cfg(*SMOKE), resolve=True)
    del older["sampler"]["labels"], older["metrics"]["class_min_share"]
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(older)))
    RunDir(tmp_path).check_resumable(make_cfg(*SMOKE, "metrics.class_min_share=0"))
    with pytest.raises(LabError, match=r"other settings \(metrics.class_min_share: absent, so 0.0, there, 0.01 now\)"):
        RunDir(tmp_path).check_resumable(make_cfg(*SMOKE))
    with pytest.raises(LabError, match=r"other settings \(sampler.labels: absent, so real_pool, there, training_set now\)"):
        RunDir(tmp_path).check_resumable(make_cfg(*SMOKE, "metrics.class_min_share=0", "sampler.labels=training_set"))


def test_what_does_not_change_the_science_never_blocks_a_resume(make_cfg, tmp_path):
    """The settings conf/config.yaml keeps out of run names (tracking and everything under it, threads, device, …)
    are the ones a resume may change; a run written when every curate option's settings sat in one flat node
    (null where another option's) resumes under the options' own schemas."""
    from lab.rundir import RunDir

    older = OmegaConf.to_container(make_cfg(*SMOKE), resolve=True)
    older["curate"] |= {"threshold": None, "strength": None, "centres_per_class": None, "candidates": None}
    older["tracking"] |= {"project": "another-project", "mode": "online"}
    older["threads"] = 7
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(older)))
    RunDir(tmp_path).check_resumable(make_cfg(*SMOKE))
    older["curate"]["threshold"] = 0.9
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(older)))
    with pytest.raises(LabError, match=r"other settings \(curate.threshold: 0.9 there, None now\)"):
        RunDir(tmp_path).check_resumable(make_cfg(*SMOKE))


def test_a_toy_run_from_before_the_data_schemas_resumes(make_cfg, tmp_path):
    """Toy runs recorded data.download (an image setting) at its default before data sets had typed schemas."""
    from lab.rundir import RunDir

    toy = ("model=gaussian", "data=gaussian", "tracking=disabled", "progress=false")
    older = OmegaConf.to_container(make_cfg(*toy), resolve=True)
    older["data"] |= {"download": False, "root": None, "resolution": None, "channels": None}
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(older)))
    RunDir(tmp_path).check_resumable(make_cfg(*toy))
    older["data"]["download"] = True  # never a toy run's value: another run
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(older)))
    with pytest.raises(LabError, match=r"other settings \(data.download: True there, None now\)"):
        RunDir(tmp_path).check_resumable(make_cfg(*toy))
