"""Tracking: one W&B run per lab run, plus metrics.jsonl and samples/gen_###.png in the run directory.

metrics.jsonl holds one JSON object per generation with the same keys as the W&B history: scalars
as numbers, `class_histogram` as a list of counts, `samples` as the grid's path inside the run dir.
The `timing/*` keys (seconds, speeds) go to W&B and to timing.jsonl instead: they differ from run to
run, and metrics.jsonl of a resumed run must equal that of an uninterrupted one.
"""

import logging
import netrc
import os
import socket
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from omegaconf import OmegaConf
from PIL import Image

from lab.conf import science_overrides
from lab.errors import LabError
from lab.lineage import Lineage, set_aside
from lab.rundir import RunDir, hw
from lab.wandb_runs import RunLabels, start_run

log = logging.getLogger("lab")

# Every key under these prefixes is plotted against `generation`. Media stay outside them: a glob
# summary would swallow them.
SCALAR_PREFIXES = ("metrics", "classes", "tails", "train", "fit", "curate", "data", "provenance", "regime", "timing")
MEDIA_KEYS = ("samples", "class_histogram")


def scalar_key(metric: str) -> str:
    """A metric's key in metrics.jsonl and W&B: per-class and per-decile values keep their own prefix
    (classes/…, tails/…: one panel group each, drawn together by the report), the rest go under metrics/."""
    return metric if "/" in metric else f"metrics/{metric}"


def resolve_mode(mode: str) -> str:
    """auto → online with an API key, offline without one (never a login prompt)."""
    if mode != "auto":
        return mode
    forced = os.environ.get("WANDB_MODE")
    if forced in ("online", "offline", "disabled"):
        return forced
    return "online" if _has_api_key() else "offline"


def check_online(mode: str, timeout_s: float = 5.0) -> None:
    """Online tracking's key and server, before anything is written: W&B would otherwise stop the run with a
    traceback after its directory exists."""
    if resolve_mode(mode) != "online":
        return
    problem = online_problem(timeout_s)
    if problem == "no key":
        raise LabError(
            "tracking.mode=online needs a W&B API key: set WANDB_API_KEY or run `wandb login`; "
            "allowed without one: tracking=offline (sync later with `wandb sync`) or tracking=disabled"
        )
    if problem:
        said = "online" if mode == "online" else f"{mode} (an API key was found, so online)"
        raise LabError(f"tracking.mode={said}: {problem}; allowed here: tracking=offline (sync later) or tracking=disabled")


def online_problem(timeout_s: float = 5.0) -> str | None:
    """Why W&B cannot be reached from here ("no key", or the server's address and the error), or None. Reachability
    is a TCP connection to the server, not a login, and is not probed where a proxy is set for the server's scheme."""
    if not _has_api_key():
        return "no key"
    url = urlparse(_base_url())
    if urllib.request.getproxies().get(url.scheme):
        return None  # reached through a proxy: a direct connection says nothing, and W&B itself goes through the proxy
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout_s).close()
    except OSError as exc:
        return f"the W&B server {url.scheme}://{url.netloc} cannot be reached within {timeout_s:g} s ({exc.strerror or type(exc).__name__})"
    return None


def _base_url() -> str:
    return os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")


def _has_api_key() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(_base_url()).hostname
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def condition_keys(loop: str, real_fraction: float, overrides) -> dict:
    """Flat W&B config keys naming the run's condition: its loop, its real fraction and the command-line settings
    that change the science, the seed aside (read as lab.report reads them), so runs group by them in the W&B UI:
    `condition` as one label, and `condition/<setting>` one column each. lab.report's own labels name only what
    varies across the runs it is given; these name everything the run's command line set."""
    flat = {"loop": loop, "real_fraction": real_fraction}
    flat |= {k: v for k, v in science_overrides(overrides).items() if k not in ("loop", "loop.real_fraction")}
    return {"condition": ", ".join(f"{k}={v}" for k, v in flat.items())} | {f"condition/{k}": v for k, v in flat.items()}


class Tracker:
    """The chain's W&B run, in the run directory's wandb/."""

    def __init__(self, tracking_cfg, run_dir: RunDir, config: dict, labels: RunLabels):
        self.run_dir = run_dir
        self.mode = resolve_mode(tracking_cfg.mode)
        self.run = None
        if self.mode == "disabled":
            return
        self.run = start_run(
            tracking_cfg,
            run_dir,
            self.mode,
            labels,
            config,
            # A run left open by an earlier job in the same (reused) worker must never absorb this one.
            reinit="finish_previous",
        )
        self.run.define_metric("generation")
        for prefix in SCALAR_PREFIXES:
            # min/max/last in the run summary: the W&B table can sort runs by best or final value.
            self.run.define_metric(f"{prefix}/*", step_metric="generation", summary="min,max,last")
        for key in MEDIA_KEYS:
            self.run.define_metric(key, step_metric="generation")

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else self.run.id

    def log(self, row: dict, picture: np.ndarray, timing: dict | None = None) -> None:
        """Log a committed generation's row to W&B (one step per generation)."""
        if self.run is None:
            return
        import wandb

        scalars = {k: v for k, v in row.items() if k not in ("generation", *MEDIA_KEYS)}
        media = {}
        if "class_histogram" in row:  # absent where metrics.run leaves the classes out
            histogram = row["class_histogram"]
            media["class_histogram"] = wandb.Histogram(np_histogram=(np.asarray(histogram), np.arange(len(histogram) + 1) - 0.5))
        media["samples"] = wandb.Image(hw(picture), caption=f"generation {row['generation']}")
        self.run.log({"generation": row["generation"], **scalars, **(timing or {}), **media})

    def catch_up(self, rows: list[dict]) -> None:
        """A resumed run's W&B side: each committed generation once, in one history.

        Online, the server's run continues and gets the committed generations it lacks (`run.step` counts
        the generations it holds: one step each). Offline, every attempt writes its own offline-run
        directory, and `wandb sync` of them all would hold a generation twice: the earlier attempts'
        directories move to wandb/superseded/ (kept, not synced by `wandb sync wandb/offline-run-*`) and
        this attempt's directory logs every committed generation again, from metrics.jsonl and the grids.
        """
        if self.run is None:
            return
        if self.mode == "offline":  # the chain's own earlier attempts (its lineage runs are lab.lineage's)
            set_aside(self.run_dir, self.run.id, keep=Path(self.run.dir).parent)
        if self.mode == "online" and self.run.step > len(rows):
            # W&B's history only moves forward: generations redone after a damaged file show twice there.
            log.warning(
                "W&B run %s holds %d generations, %d are committed: the redone ones will appear twice in W&B (metrics.jsonl holds each once)",
                self.run.id,
                self.run.step,
                len(rows),
            )
        timings = self.run_dir.timings()
        for row in rows[self.run.step if self.mode == "online" else 0 :]:
            picture = np.asarray(Image.open(self.run_dir.file(row["samples"])))
            self.log(row, picture, timings.get(row["generation"]))

    def summary(self, values: dict) -> None:
        if self.run is not None:
            self.run.summary.update(values)

    def finish(self, exit_code: int = 0) -> None:
        if self.run is not None:
            self.run.finish(exit_code=exit_code)
            self.run = None


class Tracking:
    """The order of a chain's W&B logging, in one place: on entry the chain's run (its config, the real floor in the
    summary), then what a resumed run's W&B side lacks (committed generations, their lineage); `committed` logs a
    generation once state.json holds it; on exit the runs finish (exit code 1 when the chain failed)."""

    def __init__(self, chain, labels: RunLabels, condition: dict, state: dict, rows: list[dict]):
        """`chain`: lab.experiment.Chain (its settings, real data, evaluator and run directory); `labels` name the
        chain's W&B run; `condition` joins its config; `state` and `rows`: what the run directory already holds."""
        cfg, run_dir, evaluator = chain.cfg, chain.run, chain.evaluator
        config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True) | condition
        self.tracker = Tracker(cfg.tracking, run_dir, config, labels)
        info = evaluator.classifier_info
        accuracy = {"reference/classifier_heldout_accuracy": info["heldout_accuracy"]} if info else {}
        self.tracker.summary(accuracy | {f"reference/real_{k}": v for k, v in evaluator.baseline.items() if k != "class_histogram"})
        self.lineage = None
        if self.tracker.run is not None and cfg.tracking.lineage:
            self.lineage = Lineage(cfg, self.tracker.mode, run_dir, labels, chain.real)
        self.state, self.rows = state, rows

    def __enter__(self) -> "Tracking":
        try:
            self.tracker.catch_up(self.rows)
            for gen in self.lineage.pending(self.state) if self.lineage else ():
                self.lineage.log(gen, self.state)
        except BaseException:
            self.tracker.finish(exit_code=1)
            raise
        return self

    def committed(self, gen: int, state: dict, row: dict, picture: np.ndarray, timing: dict | None) -> None:
        self.tracker.log(row, picture, timing)
        if self.lineage and gen in self.lineage.pending(state):  # a generation redone to the same files keeps its lineage
            self.lineage.log(gen, state)

    def __exit__(self, kind, value, traceback) -> None:
        self.tracker.finish(exit_code=0 if kind is None else 1)
        if self.lineage and self.tracker.mode == "offline":
            where = self.tracker.run_dir.wandb
            log.info("W&B offline: upload the chain with its lineage runs, in order: wandb sync -n 1 %s/offline-run-*", where)
