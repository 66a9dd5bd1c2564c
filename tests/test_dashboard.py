"""The W&B workspace is built offline from real runs, and its panels plot exactly what those runs' W&B files hold."""

import json
import os
import subprocess
import sys

import pytest

from lab.experiment import run_experiment
from lab.views.dashboard import HEADLINE, MEDIA, build_workspace, logged_keys, specification
from lab.views.report import find_runs
from tests.conftest import SMOKE, compose_cfg, repo_root
from tests.test_tracking import chain_run, history_of, leet

pytestmark = pytest.mark.slow  # two real chains with W&B's offline files, read back


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Two real chains with offline W&B runs: a tiny image chain (grids, classes) and a scheduled toy chain."""
    root = tmp_path_factory.mktemp("sweep")
    image = [*SMOKE[:-2], "loop=mixed", "tracking=offline", "progress=false"]
    toy = ["model=gaussian", "data=gaussian", "loop=real_only", "loop.schedule=[fully_synthetic@1]", "loop.generations=3", "tracking=offline", "progress=false"]
    for name, overrides in (("0", image), ("1", toy)):
        run_experiment(compose_cfg(*overrides), root / name, overrides=overrides)
    return root


def panels(spec: dict) -> dict[str, list[dict]]:
    return {s["name"]: s["panels"] for s in spec["spec"]["section"]["panelBankConfig"]["sections"]}


def test_the_workspace_plots_what_the_runs_log_grouped_by_condition(sweep):
    keys, floors = logged_keys(find_runs([sweep]))
    spec = specification(build_workspace("someone", "lab", "self-consumption lab", keys, floors))
    by_section = panels(spec)
    plotted = [m for ps in by_section.values() for p in ps if p["viewType"] == "Run History Line Plot" for m in p["config"]["metrics"]]
    # Every key the runs' W&B histories hold has one line panel (the grid has its media panel), against generation.
    wandb_runs = [chain_run(sweep / name) for name in ("0", "1")]
    # (leet spells a media value's fields as samples.path, class_histogram.bins, …: the key is what precedes the dot)
    history = {k.split(".")[0] for run in wandb_runs for row in history_of(run) for k in row if not k.startswith("_")} - {"generation", "regime"}
    assert sorted(plotted + ["samples"]) == sorted(history)
    assert all(p["config"]["xAxis"] == "generation" for ps in by_section.values() for p in ps if p["viewType"] == "Run History Line Plot")
    # The headline first, in the report's order; the grid next to it; the regime of the scheduled chain with the provenance.
    assert list(by_section)[:3] == ["Fidelity and diversity", "Samples", "Tails by density"]
    headline = [p["config"]["metrics"][0] for p in by_section["Fidelity and diversity"] if p["viewType"] == "Run History Line Plot"]
    assert headline == [k for k in HEADLINE if k in history]
    assert "regime/real_fraction" in [p["config"]["metrics"][0] for p in by_section["Training set: provenance and regime"]]
    assert by_section["Samples"][0]["viewType"] == "Media Browser" and "samples" in json.dumps(by_section["Samples"][0]["config"])
    # The real floor: the summary keys the runs hold.
    summaries = {k for run in wandb_runs for k in json.loads(leet(run, "--summary"))["summary"]}
    bars = [p for p in by_section["Fidelity and diversity"] if p["viewType"] == "Bar Chart"]
    floor_keys = json.dumps(bars[0]["config"])
    assert "reference/real_fd_classifier" in floor_keys and "reference/real_fd_classifier" in summaries
    # One line per condition, seeds pooled: the runs' W&B configs carry `condition`.
    assert spec["spec"]["section"]["runSets"][0]["grouping"] == [{"section": "config", "name": "condition.value"}]
    assert all(json.loads(leet(run, "--summary"))["config"]["condition"] for run in wandb_runs)
    # The lineage runs (artifacts, no metrics) stay out of the groups.
    filters = json.dumps(spec["spec"]["section"]["runSets"][0]["filters"])
    assert all(f'"op": "!=", "value": "{step}"' in filters for step in ("compose", "fit", "sample")) and '"jobType"' in filters
    assert set(MEDIA) <= set(keys)


def isolated(tmp_path) -> dict:
    """No key anywhere W&B looks (environment, netrc, its settings): as on a machine that never ran `wandb login`."""
    return {"PYTHONPATH": str(repo_root()), "WANDB_CONFIG_DIR": str(tmp_path), "HOME": str(tmp_path), "NETRC": str(tmp_path / "no-netrc")}


@pytest.mark.slow  # the real command, in an interpreter of its own
def test_the_cli_writes_the_specification_offline_without_a_key(sweep, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "WANDB_BASE_URL")} | isolated(tmp_path)
    out = tmp_path / "workspace.json"
    offline = [sys.executable, "-m", "lab.dashboard", "--out", str(out), str(sweep)]  # no entity: nothing is saved
    written = subprocess.run(offline, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert written.returncode == 0, written.stderr
    assert json.loads(out.read_text())["spec"]["section"]["panelBankConfig"]["sections"]


def test_the_cli_stops_in_one_line_without_a_key(sweep, tmp_path, monkeypatch, capsys):
    from lab.views.dashboard import main

    # The usage errors in this process (an interpreter each would cost seconds of imports).
    for key in ("WANDB_API_KEY", "WANDB_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in isolated(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    saving = ["--entity", "someone", "--project", "lab"]
    for args, says in (
        ([*saving, str(sweep)], "error: python -m lab.dashboard needs a W&B API key"),
        ([*saving, "empty"], "has logged a generation: nothing to plot"),
        ([*saving, "nothing"], "nothing is not a directory"),
        ([str(sweep)], "needs --entity"),
    ):
        with pytest.raises(SystemExit) as stopped:
            main(args)
        err = capsys.readouterr().err
        assert stopped.value.code == 2 and err.count("\n") == 1 and says in err, err
