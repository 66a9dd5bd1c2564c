"""A schedule of regimes composes the intended training set at every generation, resumes like any chain, and a
bad schedule stops with one line before anything is written."""

import json

import pytest
from omegaconf import OmegaConf

from lab.__main__ import check_job
from lab.conf import science_overrides, setting_text
from lab.errors import LabError
from lab.experiment import run_experiment
from lab.loops import compose
from lab.schedule import regimes, synthetic_taken
from tests.conftest import SMOKE
from tests.test_loops import TRAIN_SIZE, fake_history, identity


def loop_cfg(name, schedule, generations=8, real_fraction=0.5):
    return OmegaConf.create({"name": name, "real_fraction": real_fraction, "generations": generations, "train_size": TRAIN_SIZE, "schedule": schedule})


def scheduled_chain(cfg, real):
    """The training sets of a scheduled chain, composed as lab.experiment.produce composes them."""
    history = fake_history(int(cfg.generations), real.train_images.shape[1:])
    plan = regimes(cfg)
    return [
        compose(plan[g].loop, g, real.train_images, real.train_labels, history[:g], TRAIN_SIZE, plan[g].real_fraction, 0, synthetic_taken(cfg, plan, g))
        for g in range(int(cfg.generations))
    ]


def test_a_healing_schedule_self_consumes_then_retrains_on_real_data(real):
    cfg = loop_cfg("real_only", ["fully_synthetic@1-3"])
    plan = regimes(cfg)
    assert [r.loop for r in plan] == ["real_only"] + ["fully_synthetic"] * 3 + ["real_only"] * 4
    assert [r.real_fraction for r in plan] == [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    assert [r.scheduled for r in plan] == [False, True, True, True, False, False, False, False]
    sets = scheduled_chain(cfg, real)
    for g in (1, 2, 3):  # only the previous generation's samples
        assert sets[g].provenance() == {"real": 0, f"gen_{g - 1}": TRAIN_SIZE}
    for g in range(4, 8):  # generation 0's real images again, no sample left
        assert sets[g].provenance() == {"real": TRAIN_SIZE}
        assert sets[g].real_index.tolist() == sets[0].real_index.tolist()


def test_a_falling_real_share_moves_linearly_and_composes_its_counts(real):
    cfg = loop_cfg("fresh", ["0.9..0.1@1-5"], generations=6)
    plan = regimes(cfg)
    assert [r.loop for r in plan] == ["fresh"] * 6
    assert [r.real_fraction for r in plan[1:]] == pytest.approx([0.9, 0.7, 0.5, 0.3, 0.1])
    sets = scheduled_chain(cfg, real)
    assert [s.provenance() for s in sets[1:]] == [{"real": round(100 * p), f"gen_{g}": round(100 * (1 - p))} for g, p in enumerate([0.9, 0.7, 0.5, 0.3, 0.1])]
    # Another loop at its own fraction for one generation; an unnamed generation keeps loop= and real_fraction.
    plan = regimes(loop_cfg("fresh", ["mixed:0.2@2", "fully_synthetic@4"], generations=6))
    assert [(r.loop, r.real_fraction) for r in plan[1:]] == [("fresh", 0.5), ("mixed", 0.2), ("fresh", 0.5), ("fully_synthetic", 0.0), ("fresh", 0.5)]


def test_accumulate_keeps_what_each_generation_gave_when_it_was_new(real):
    # No schedule: every earlier generation gives n_synthetic, as before.
    plain = scheduled_chain(loop_cfg("accumulate", [], generations=4), real)
    assert plain[3].provenance() == {"real": 50, "gen_0": 50, "gen_1": 50, "gen_2": 50}
    # Generations 1 and 2 retrain on real data only: the samples of 0 and 1 never entered a training set.
    sets = scheduled_chain(loop_cfg("accumulate", ["real_only@1-2"], generations=5), real)
    assert [s.provenance() for s in sets[1:3]] == [{"real": 100}, {"real": 100}]
    assert sets[3].provenance() == {"real": 50, "gen_2": 50}
    assert sets[4].provenance() == {"real": 50, "gen_2": 50, "gen_3": 50}
    # A falling share: each generation keeps the count it entered with (the same images: the front of its samples).
    sets = scheduled_chain(loop_cfg("accumulate", ["0.8..0.4@1-3"], generations=4), real)
    assert sets[3].provenance() == {"real": 40, "gen_0": 20, "gen_1": 40, "gen_2": 60}
    assert identity(sets[3].images[sets[3].source == 0]) == identity(sets[1].images[sets[1].source == 0])


BAD = [
    (["loop.schedule=[foo@1]"], "loop.schedule[0]=foo@1 names loop=foo; allowed: accumulate, accumulate_subsample, fresh"),
    (["loop.schedule=[fully_synthetic@1-5]"], "loop.schedule[0]=fully_synthetic@1-5: generations 1–5 are out of range: allowed 1 ≤ FIRST ≤ LAST ≤ 3"),
    (["loop.schedule=[fully_synthetic@0]"], "loop.schedule[0]=fully_synthetic@0: generations 0–0 are out of range"),
    (["loop.schedule=[fully_synthetic@3-1]"], "loop.schedule[0]=fully_synthetic@3-1: generations 3–1 are out of range"),
    (["loop.schedule=[fully_synthetic@1-2,real_only@2-3]"], "loop.schedule[1]=real_only@2-3 overlaps loop.schedule[0]=fully_synthetic@1-2 at generation 2"),
    (["loop.schedule=[fully_synthetic]"], "loop.schedule[0]=fully_synthetic is not a span: write LOOP[:P[..Q]]@FIRST[-LAST]"),
    (["loop.schedule=[mixed:a@1]"], "loop.schedule[0]=mixed:a@1 is not a span"),
    (["loop.schedule=[mixed:1.5@1]"], "loop.schedule[0]=mixed:1.5@1: real fraction 1.5 is out of range: allowed 0 ≤ value ≤ 1"),
    (["loop.schedule=[real_only:0.5@1]"], "loop.schedule[0]=real_only:0.5@1: loop=real_only has real fraction 1 by definition: write real_only@1"),
    (["loop.schedule=[mixed@2]"], "loop.schedule[0]=mixed@2 needs its real fraction: loop=fully_synthetic fixes its own at 0, so write mixed:P@2"),
    (["loop=real_only", "loop.schedule=[fresh@1-3]"], "loop.schedule[0]=fresh@1-3 needs its real fraction: loop=real_only fixes its own at 1"),
    (["loop=mixed", "loop.schedule=[-0.1@1]"], "loop.schedule[0]=-0.1@1: real fraction -0.1 is out of range: allowed 0 ≤ value ≤ 1"),
    (["loop=mixed", "loop.schedule=[0.9..@1-3]"], "loop.schedule[0]=0.9..@1-3 is not a span"),
    (["loop.generations=1", "loop.schedule=[fully_synthetic@1]"], "loop.schedule[0]=fully_synthetic@1: loop.generations=1 has no generation after 0"),
    (["loop=mixed", "loop.schedule=[0.9..0.1@2]"], "loop.schedule[0]=0.9..0.1@2: a real fraction moving from 0.9 to 0.1 needs a span of two generations"),
    (
        ["loop=real_only", "loop.num_samples=1000", "loop.schedule=[fully_synthetic@1]"],
        "loop.num_samples=1000 is too small: loop=fully_synthetic (loop.schedule at generation 1) with train_size=2000",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), BAD, ids=[" ".join(c[0]) for c in BAD])
def test_a_bad_schedule_is_one_line(overrides, expected):
    with pytest.raises(LabError) as err:
        check_job(overrides)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(expected), str(err.value)


def test_a_sweep_with_one_bad_schedule_writes_nothing(tmp_path, lab_here):
    result = lab_here(tmp_path, "-m", "loop=real_only", "loop.schedule=[fully_synthetic@1],[fully_synthetic@9]")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: loop.schedule[0]=fully_synthetic@9: generations 9–9 are out of range")
    assert list(tmp_path.iterdir()) == []


def test_the_report_and_wandb_name_a_schedule_as_the_command_line_does():
    cfg = OmegaConf.create({"loop": {"schedule": ["fully_synthetic@1-3", "mixed:0.2@4"]}})
    assert setting_text(cfg, "loop.schedule") == "[fully_synthetic@1-3,mixed:0.2@4]"
    assert setting_text(OmegaConf.create({"loop": {"name": "mixed"}}), "loop.schedule") == "[]"  # a run from before schedules
    # A multirun job's overrides escape Hydra's special characters; the condition is the single run's.
    assert science_overrides(["loop.schedule=[fresh\\:0.9..0.1@1-5]", "seed=2"]) == {"loop.schedule": "[fresh:0.9..0.1@1-5]"}


@pytest.mark.slow  # three warm-started chains end to end
def test_a_resumed_scheduled_warm_chain_equals_an_uninterrupted_one(make_cfg, tmp_path):
    """Self-consume at generation 1, heal on real data at 2, fine-tuning 128 images per warm generation; cut after
    generation 1 with a half-written generation 2, then the same command again."""
    chain = (*SMOKE, "loop=real_only", "loop.schedule=[fully_synthetic@1]", "train.warm_start=true", "train.finetune_images=128")
    whole = run_experiment(make_cfg(*chain, "loop.generations=3"), tmp_path / "whole")
    assert [r.get("regime") for r in whole] == ["real_only", "fully_synthetic", "real_only"]
    assert [r["data/real_fraction"] for r in whole] == [1.0, 0.0, 1.0]
    assert (whole[1]["provenance/gen_0"], whole[2]["provenance/real"]) == (256, 256)
    assert [r["train/images_seen"] for r in whole] == [512, 128, 128]  # the fine-tuning budget after generation 0

    run = tmp_path / "cut"
    run_experiment(make_cfg(*chain, "loop.generations=2"), run)
    (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("generations: 2", "generations: 3"))
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"generation": 2, "metrics/fd_cl')  # a row cut short
    resumed = run_experiment(make_cfg(*chain, "loop.generations=3"), run)
    assert resumed == whole
    assert [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()] == whole
