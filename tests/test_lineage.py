"""A chain's lineage, read back from its real W&B offline files: the artifacts each run logged and used, as a graph."""

import json
from collections import Counter
from pathlib import Path

import pytest

from lab import lineage
from lab.experiment import run_experiment
from tests.conftest import compose_cfg
from tests.test_tracking import leet, run_id_of

pytestmark = pytest.mark.slow  # chains end to end with W&B's real offline files: three small runs per generation

TOY = ("model=gaussian", "data=gaussian", "seed=1", "loop.train_size=100", "loop.num_samples=1000", "tracking=offline", "progress=false", "threads=1")


def chain(run_dir: Path, *overrides: str) -> None:
    overrides = (*TOY, *overrides)
    run_experiment(compose_cfg(*overrides), run_dir, overrides=overrides)


def records(run_dir: Path) -> dict[str, dict]:
    """What `wandb sync wandb/offline-run-*` would upload: per run id, its job type and its artifacts as
    (name, digest, aliases) logged (`out`) and used (`in`)."""
    runs = {}
    for path in sorted((run_dir / "wandb").glob("offline-run-*")):
        lines = [json.loads(line) for line in leet(path).splitlines() if line.strip()]
        run = next(r["run"] for r in lines if r["type"] == "run")
        arts = [r["artifact"] for r in lines if r["type"] == "artifact"]
        runs[run_id_of(path)] = {
            "job_type": run.get("job_type"),
            "order": path.name,
            "out": [(a["name"], a["digest"], tuple(a.get("aliases", []))) for a in arts if not a.get("use_after_commit")],
            "in": [(a["name"], a["digest"]) for a in arts if a.get("use_after_commit")],
        }
    return runs


def producers(runs: dict) -> dict[tuple[str, str], str]:
    made = {}
    for run_id, run in runs.items():
        for name, digest, _ in run["out"]:
            assert (name, digest) not in made, f"{name} {digest} logged twice"
            made[name, digest] = run_id
    return made


def test_the_lineage_graph_is_the_chain(tmp_path):
    chain(tmp_path / "run", "loop=mixed", "loop.generations=3")
    runs = records(tmp_path / "run")
    chain_id = json.loads((tmp_path / "run" / "state.json").read_text())["wandb_run_id"]
    assert runs[chain_id]["out"] == runs[chain_id]["in"] == []  # the metrics run itself holds no lineage
    steps = {f"{chain_id}-g{g:03d}-{i + 1}{s}": s for g in range(3) for i, s in enumerate(lineage.STEPS)}
    assert {k: v["job_type"] for k, v in runs.items() if k != chain_id} == steps
    made = producers(runs)

    def step(gen, name):
        return runs[f"{chain_id}-g{gen:03d}-{lineage.STEPS.index(name) + 1}{name}"]

    for gen in range(3):
        (trainset,) = step(gen, "compose")["out"]
        (model,) = step(gen, "fit")["out"]
        (samples,) = step(gen, "sample")["out"]
        assert [a[0] for a in (trainset, model, samples)] == [f"trainset-{chain_id}", f"model-{chain_id}", f"samples-{chain_id}"]
        assert all(f"gen-{gen}" in a[2] for a in (trainset, model, samples))
        assert step(gen, "fit")["in"] == [trainset[:2]]  # from scratch: the training set alone
        assert step(gen, "sample")["in"] == [model[:2]]
        used = dict(step(gen, "compose")["in"])
        assert set(used) == {"real-gaussian", *([f"samples-{chain_id}"] if gen else [])}  # mixed: real + the last generation
        if gen:
            assert made[f"samples-{chain_id}", used[f"samples-{chain_id}"]] == f"{chain_id}-g{gen - 1:03d}-3sample"
    # Every use links to a version an earlier run logged (the real pool enters from outside), so that `wandb sync`
    # in name order uploads each producer before its users.
    for run in runs.values():
        for name, digest in run["in"]:
            if name != "real-gaussian":
                assert runs[made[name, digest]]["order"] < run["order"]
    # The graph's path: real pool → … → the last generation's samples.
    edges = {(a, r) for r, run in runs.items() for a in run["in"]} | {(r, a[:2]) for r, run in runs.items() for a in run["out"]}
    reached, frontier = set(), {a for a, _ in edges if isinstance(a, tuple) and a[0] == "real-gaussian"}
    while frontier:
        reached |= frontier
        frontier = {b for a, b in edges if a in frontier} - reached
    assert step(2, "sample")["out"][0][:2] in reached
    assert [json.loads(line)["generation"] for line in (tmp_path / "run" / "lineage.jsonl").read_text().splitlines()] == [0, 1, 2]


def test_warm_start_uses_the_previous_model_and_accumulate_every_earlier_sample(tmp_path):
    chain(tmp_path / "run", "loop=accumulate", "loop.generations=3", "train.warm_start=true")
    runs = records(tmp_path / "run")
    chain_id = json.loads((tmp_path / "run" / "state.json").read_text())["wandb_run_id"]
    made = producers(runs)
    fit2 = runs[f"{chain_id}-g002-2fit"]["in"]
    assert [made[a] for a in fit2] == [f"{chain_id}-g002-1compose", f"{chain_id}-g001-2fit"]
    compose2 = runs[f"{chain_id}-g002-1compose"]["in"]
    assert [made.get(a, "outside") for a in compose2] == ["outside", f"{chain_id}-g000-3sample", f"{chain_id}-g001-3sample"]


def test_keep_last_models_carry_no_weights_and_still_link(tmp_path):
    chain(tmp_path / "run", "loop=fully_synthetic", "loop.generations=2", "train.warm_start=true", "loop.keep=last")
    runs = records(tmp_path / "run")
    chain_id = json.loads((tmp_path / "run" / "state.json").read_text())["wandb_run_id"]
    made = producers(runs)
    assert made[runs[f"{chain_id}-g001-2fit"]["in"][1]] == f"{chain_id}-g000-2fit"  # model 0, though its checkpoint is gone
    assert runs[f"{chain_id}-g001-1compose"]["in"] == [(f"samples-{chain_id}", runs[f"{chain_id}-g000-3sample"]["out"][0][1])]


def test_a_resume_logs_each_generation_once(tmp_path, monkeypatch):
    """Attempt 1 dies in generation 1's lineage (its compose run done, its fit run not); attempt 2 logs generation 1
    again from its start and goes on: every artifact version reaches `wandb sync` once, the interrupted run is kept aside."""
    real_step = lineage.Lineage._step

    def dies_at_fit_1(self, gen, step, inputs, output):
        if (gen, step) == (1, "fit"):
            raise KeyboardInterrupt
        return real_step(self, gen, step, inputs, output)

    monkeypatch.setattr(lineage.Lineage, "_step", dies_at_fit_1)
    with pytest.raises(KeyboardInterrupt):
        chain(tmp_path / "run", "loop=mixed", "loop.generations=3")
    monkeypatch.setattr(lineage.Lineage, "_step", real_step)
    chain(tmp_path / "run", "loop=mixed", "loop.generations=3")

    runs = records(tmp_path / "run")
    chain_id = json.loads((tmp_path / "run" / "state.json").read_text())["wandb_run_id"]
    producers(runs)  # no version logged twice
    outputs = Counter((name, alias) for run in runs.values() for name, _, aliases in run["out"] for alias in aliases if alias.startswith("gen-"))
    assert set(outputs.values()) == {1} and len(outputs) == 9
    aside = sorted(run_id_of(p) for p in (tmp_path / "run" / "wandb" / "superseded").iterdir())
    assert aside == [chain_id, f"{chain_id}-g001-1compose"]  # attempt 1's metrics run and its lineage run cut short
    assert Counter(json.loads(line)["generation"] for line in (tmp_path / "run" / "lineage.jsonl").read_text().splitlines()) == {0: 1, 1: 1, 2: 1}
    assert f"{chain_id}-g001-1compose" in runs


def test_lineage_off_and_tracking_disabled_log_no_lineage(tmp_path):
    chain(tmp_path / "off", "loop.generations=1", "tracking.lineage=false")
    chain_id = json.loads((tmp_path / "off" / "state.json").read_text())["wandb_run_id"]
    assert [run_id_of(p) for p in (tmp_path / "off" / "wandb").glob("offline-run-*")] == [chain_id]
    chain(tmp_path / "disabled", "loop.generations=1", "tracking=disabled")
    assert not (tmp_path / "disabled" / "wandb").exists() and not (tmp_path / "disabled" / "lineage.jsonl").exists()


def test_make_dashboard_opens_the_chain_not_a_lineage_run(tmp_path, monkeypatch):
    from lab.errors import LabError
    from lab.views.leet import chain_wandb_dir, newest_run_dir

    chain(tmp_path / "outputs" / "a", "loop.generations=2")
    chain_id = json.loads((tmp_path / "outputs" / "a" / "state.json").read_text())["wandb_run_id"]
    # Seven runs under wandb/ (the chain and three per generation); the newest is generation 1's sample run.
    live = sorted((tmp_path / "outputs" / "a" / "wandb").glob("offline-run-*"))
    assert len(live) == 7 and run_id_of(live[-1]) == f"{chain_id}-g001-3sample"
    assert run_id_of(chain_wandb_dir(tmp_path / "outputs" / "a")) == chain_id
    monkeypatch.chdir(tmp_path)
    assert newest_run_dir() == Path("outputs") / "a"
    with pytest.raises(LabError, match="is not a run directory"):
        chain_wandb_dir(tmp_path)
    chain(tmp_path / "disabled", "loop.generations=1", "tracking=disabled")
    with pytest.raises(LabError, match="has no local W&B run"):
        chain_wandb_dir(tmp_path / "disabled")
