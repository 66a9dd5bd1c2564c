"""A ready W&B workspace for the lab's runs, built with W&B's wandb-workspaces package:

    python -m lab.dashboard --entity E [--project P] [SWEEP_DIR …]     (make workspace ENTITY=… DIR=…)
    python -m lab.dashboard --out workspace.json [SWEEP_DIR …]          (offline; make workspace OUT=…)

Its panels plot what the runs under SWEEP_DIR log (default: the newest sweep under multirun/): the headline
metrics against `generation`, one line per condition (the `condition` key of each run's W&B config, the label
lab.report gives it) with the seeds' mean and their range as a band; the real-data floor of each headline
metric (`reference/real_*`, a run summary); the sample grid per generation; class shares; the tails by density;
the training set's provenance and the schedule's regime; timing. `--out FILE` writes the workspace's
specification as JSON and touches no network (its entity is --entity's, or left empty for the one who imports
it); without `--out` it is saved to W&B, which needs --entity, an API key and the server.
"""

import argparse
import json
import sys
from pathlib import Path

from lab import layout
from lab.errors import LabError
from lab.lineage import STEPS

# Sections in order: (title, open, prefixes of the logged keys it plots; the headline's are exact keys). A key goes
# to the first section that takes it.
HEADLINE = ("metrics/fd_classifier", "metrics/fd_inception", "metrics/w2", "metrics/precision", "metrics/recall", "metrics/knn_coverage")
SECTIONS = (
    ("Fidelity and diversity", True, HEADLINE),
    ("Tails by density", True, ("metrics/knn_coverage_tail", "metrics/knn_coverage_core", "tails/", "metrics/landing")),
    ("Classes", False, ("metrics/class", "classes/", "data/label_count_")),
    ("Memorisation", False, ("metrics/copy_share",)),
    ("Training set: provenance and regime", False, ("provenance/", "data/", "regime/")),
    ("Training", False, ("train/", "curate/")),
    ("Timing", False, ("timing/",)),
    ("Other metrics", False, ("",)),  # whatever a new metric or option logs
)
MEDIA = ("samples", "class_histogram")  # logged as wandb.Image and wandb.Histogram beside the scalars


def logged_keys(runs: list[Path]) -> tuple[list[str], list[str]]:
    """(history keys, real-floor summary keys) of the runs, in first-seen order: what their W&B runs hold."""
    history: dict[str, None] = {}
    floors: dict[str, None] = {}
    for run in runs:
        for name in (layout.METRICS, layout.TIMING):
            path = run / name
            for line in path.read_text().splitlines() if path.exists() else []:
                if line.strip():
                    row = json.loads(line)
                    history |= dict.fromkeys(k for k, v in row.items() if k != "generation" and (k in MEDIA or isinstance(v, (int, float))))
        reference = run / layout.REFERENCE
        if reference.exists():
            baseline = json.loads(reference.read_text()).get("real_baseline", {})
            floors |= dict.fromkeys(f"reference/real_{k}" for k, v in baseline.items() if isinstance(v, (int, float)))
    return list(history), list(floors)


def sections_of(keys: list[str]) -> list[tuple[str, bool, list[str]]]:
    """The keys grouped into SECTIONS (empty sections left out), headline metrics in HEADLINE's order."""
    taken: dict[str, list[str]] = {title: [] for title, _, _ in SECTIONS}
    for key in keys:
        for title, _, prefixes in SECTIONS:
            if key in HEADLINE if prefixes is HEADLINE else key.startswith(prefixes):  # the headline by exact key
                taken[title].append(key)
                break
    order = {k: i for i, k in enumerate(HEADLINE)}
    taken["Fidelity and diversity"].sort(key=lambda k: order.get(k, len(order)))
    return [(title, is_open, taken[title]) for title, is_open, _ in SECTIONS if taken[title]]


def build_workspace(entity: str, project: str, name: str, keys: list[str], floors: list[str]):
    """The workspace: a line per condition (mean over seeds, their range as a band) against generation."""
    import wandb_workspaces.reports.v2 as wr
    import wandb_workspaces.workspaces as ws

    def line(key: str):
        return wr.LinePlot(title=key, x="generation", y=[key], groupby_aggfunc="mean", groupby_rangefunc="minmax")

    sections = []
    for title, is_open, section_keys in sections_of([k for k in keys if k not in MEDIA]):
        panels = [line(k) for k in section_keys]
        if title == "Fidelity and diversity":
            headline_floors = [f for f in floors if f"metrics/{f.removeprefix('reference/real_')}" in section_keys]
            panels.append(wr.BarPlot(title="real-data floor (held-out real vs real)", metrics=headline_floors, groupby_aggfunc="mean"))
        if title == "Classes" and "class_histogram" in keys:
            panels.append(line("class_histogram"))
        sections.append(ws.Section(name=title, panels=panels, is_open=is_open))
    if "samples" in keys:  # one grid per generation (rows: runs or groups, columns: generations)
        grids = wr.MediaBrowser(title="samples per generation", media_keys=["samples"], mode="grid", grid_x_axis="step", grid_y_axis="run")
        sections.insert(1, ws.Section(name="Samples", panels=[grids], is_open=True))
    return ws.Workspace(
        entity=entity,
        project=project,
        name=name,
        sections=sections,
        settings=ws.WorkspaceSettings(x_axis="generation", max_runs=100),
        # A chain's lineage runs (lab.lineage) log artifacts, not metrics: they stay out of the groups and their seed counts.
        runset_settings=ws.RunsetSettings(groupby=[ws.Config("condition")], filters=[ws.Metric("JobType") != step for step in STEPS]),
    )


def specification(workspace) -> dict:
    """The workspace as W&B stores it (its view's JSON), built offline."""
    return workspace._to_model().model_dump(by_alias=True, exclude_none=True, mode="json")


def main(argv=None) -> None:
    from lab.schema import TrackingConfig
    from lab.tracking import online_problem
    from lab.views.report_load import find_runs, newest_sweep

    parser = argparse.ArgumentParser(prog="python -m lab.dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="sweep or run directories (default: the newest sweep under multirun/)")
    parser.add_argument("--entity", help="W&B entity (user or team) the runs were synced to; needed to save, not with --out")
    parser.add_argument("--project", default=TrackingConfig.project, help="W&B project the runs were synced to (default: tracking.project's)")
    parser.add_argument("--name", default="self-consumption lab", help="the workspace's name")
    parser.add_argument("--out", type=Path, help="write the workspace's specification to this JSON file instead of saving it to W&B")
    args = parser.parse_args(argv)
    try:
        if not args.out and not args.entity:
            raise LabError("saving a workspace to W&B needs --entity (your W&B user or team); --out FILE writes its specification offline")
        paths = args.paths or [newest_sweep()]
        runs = find_runs(paths)
        keys, floors = logged_keys(runs)
        if not keys:
            raise LabError(f"no run directory under {', '.join(map(str, paths))} has logged a generation: nothing to plot")
        workspace = build_workspace(args.entity or "", args.project, args.name, keys, floors)
        if args.out:
            args.out.write_text(json.dumps(specification(workspace), indent=2))
            print(f"{args.out}: {len(workspace.sections)} sections, {len(keys)} keys from {len(runs)} runs")
            return
        problem = online_problem()
        if problem:
            why = "needs a W&B API key (set WANDB_API_KEY or run `wandb login`)" if problem == "no key" else f"cannot save: {problem}"
            raise LabError(f"python -m lab.dashboard {why}; without the network, --out FILE writes the workspace's specification")
        workspace.save()
        print(f"workspace saved: {workspace.url}")
    except (LabError, SystemExit) as exc:
        if isinstance(exc, SystemExit) and not isinstance(exc.code, str):
            raise
        print(f"error: {str(exc.code if isinstance(exc, SystemExit) else exc).removeprefix('error: ')}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
