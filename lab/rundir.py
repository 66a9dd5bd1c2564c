"""The run directory: what is written after each generation, and what a resumed run may trust.

Trust rule: `state.json` (written last, atomically) says how many generations are complete. Anything
of a later generation — a sample file, a checkpoint, a metrics row — may be half-done and is redone.
"""

import json
import os
import shutil
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from lab import faults, integrity, layout
from lab.conf import changes_the_science
from lab.errors import LabError
from lab.loops import Samples

# Settings added to the schema after runs already existed, with the value that behaves as the code did before.
# The speed settings' auto values do on a CPU what the code did before (no run predates them on a GPU), except
# sampler.bf16: runs before it sampled in fp32 everywhere, so a CPU with bf16 units resumes them with sampler.bf16=false.
ADDED_LATER = {
    "model.family": "diffusion",
    "curate.name": "none",
    "curate.max_draws": 10,
    "metrics.mode_min_share": 0.01,
    "train.timesteps": "uniform",
    "train.speed.compile_mode": "reduce-overhead",
    "train.speed.device_draws": "auto",
    "sampler.compile": "auto",
    "sampler.bf16": False,
    "sampler.labels": "real_pool",
    "metrics.class_min_share": 0.0,
    "loop.heldback_samples": 0,
    "loop.schedule": [],
}
# Settings a kind of option no longer has, with the value older runs recorded for them: data=gaussian|gmm25 runs
# from before the typed data schemas hold data.download (an image setting) at its default.
REMOVED_LATER = {"data.download": False}
_ABSENT = object()

LOCK = layout.LOCK


def holds_foreign_files(run_dir: Path) -> bool:
    """True for a directory with files in it that are not a lab run (the lock file alone does not count)."""
    return run_dir.is_dir() and not (run_dir / layout.CONFIG).exists() and any(p.name != LOCK for p in run_dir.iterdir())


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_state(run_dir: Path) -> dict | None:
    path = run_dir / layout.STATE
    return json.loads(path.read_text()) if path.exists() else None


def write_state(run_dir: Path, state: dict) -> None:
    path = run_dir / layout.STATE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    faults.point("state_write")
    os.replace(tmp, path)  # the commit point of a generation


def commit(run_dir: Path, state: dict, gen: int, keep: str) -> dict:
    """Generation `gen` is complete: record its files' checksums and move state.json past it.

    With loop.keep=last the older checkpoints go only after the commit: a kill before it finds the
    previous generation's checkpoint where its checksum says it is."""
    sums = integrity.checksums_after(run_dir, state, gen)
    if keep == "last":
        sums = {k: v for k, v in sums.items() if not k.startswith("checkpoints/") or integrity.generation_of(k) == gen}
    state = dict(state, completed_generations=gen + 1, checksums=sums)
    write_state(run_dir, state)
    if keep == "last":
        for old in (run_dir / layout.CHECKPOINTS_DIR).glob("gen_*"):
            if old != checkpoint_dir(run_dir, gen):
                shutil.rmtree(old)
    return state


def rewind(run_dir: Path, state: dict, gen: int) -> dict:
    """Generations from `gen` on are to be redone: state.json forgets them (their files are overwritten)."""
    kept = {k: v for k, v in state.get("checksums", {}).items() if integrity.generation_of(k) < gen}
    state = dict(state, completed_generations=gen, checksums=kept)
    write_state(run_dir, state)
    return state


def check_resumable(run_dir: Path, cfg: DictConfig) -> None:
    """A run directory may be resumed only by the same settings (up to those that do not change the science)."""
    saved = _comparable(OmegaConf.load(run_dir / layout.CONFIG))
    now = _comparable(cfg)
    # A setting the option no longer has, recorded at the value it always had, is no difference either.
    saved = {k: v for k, v in saved.items() if k in now or REMOVED_LATER.get(k, _ABSENT) != v}
    # A setting added after the run began, at the value that does what the code did before, is no difference.
    now = {k: v for k, v in now.items() if k in saved or ADDED_LATER.get(k, _ABSENT) != v}
    if saved != now:
        diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        first = diff[0]
        there = saved.get(first)
        if first not in saved and first in ADDED_LATER:  # a run from before the setting: say what it did then
            there = f"absent, so {ADDED_LATER[first]},"
        raise LabError(
            f"run_dir={run_dir} holds a run with other settings ({first}: {there} there, "
            f"{now.get(first)} now{', …' if len(diff) > 1 else ''}); resume it with the same settings or choose another run_dir"
        )


def _comparable(cfg) -> dict:
    flat = _flatten(OmegaConf.to_container(cfg, resolve=True))
    # A null setting equals an absent one: runs from before the options' own schemas recorded every option's
    # settings in one node, null where another option's (e.g. sampler.eta under a DPM sampler).
    return {k: v for k, v in flat.items() if changes_the_science(k) and v is not None}


def _flatten(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= _flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def discard_unfinished(run_dir: Path, completed: int) -> list[dict]:
    """Drop what a killed attempt left past `completed` generations; returns the trusted metrics rows."""
    rows = []
    jsonl = run_dir / layout.METRICS
    if jsonl.exists():
        for line in jsonl.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by the kill
                break
            if row.get("generation", completed) < completed:
                rows.append(row)
        _replace_if_changed(jsonl, "".join(json.dumps(r) + "\n" for r in rows))
    timing = run_dir / layout.TIMING
    if timing.exists():
        kept = [line for line in timing.read_text().splitlines() if _row_generation(line) < completed]
        _replace_if_changed(timing, "".join(line + "\n" for line in kept))
    remove_temporaries(run_dir)
    return rows


def remove_temporaries(run_dir: Path) -> None:
    """Files and checkpoint directories a killed or failed save left under their temporary names."""
    for leftover in sorted(set(run_dir.rglob("*.tmp"))):  # checkpoints/.gen_###.tmp is a directory
        if leftover.is_dir():
            shutil.rmtree(leftover)
        elif leftover.exists():  # not inside a directory removed just before
            leftover.unlink()


def _replace_if_changed(path: Path, text: str) -> None:
    """A finished run's files are left exactly as they are (not even rewritten with the same bytes)."""
    if path.read_text() != text:
        atomic_write_text(path, text)


def _row_generation(line: str) -> int:
    try:
        return int(json.loads(line)["generation"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return 1 << 30


def save_samples(run_dir: Path, samples: Samples, provenance: dict) -> None:
    path = run_dir / layout.samples(samples.generation)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    held = {} if samples.heldback is None else {"heldback": samples.heldback}
    torch.save({"images": samples.images, "labels": samples.labels, "provenance": provenance} | held, tmp)
    faults.point("samples_write")
    os.replace(tmp, path)


def load_samples(run_dir: Path, generation: int) -> Samples:
    saved = torch.load(run_dir / layout.samples(generation), weights_only=True)
    return Samples(generation, saved["images"], saved["labels"], saved.get("heldback"))


def checkpoint_dir(run_dir: Path, gen: int) -> Path:
    return run_dir / layout.checkpoint(gen)


def save_checkpoint(run_dir: Path, gen: int, model) -> None:
    """The generator's `save` writes into a temporary directory that then takes the final name."""
    final = checkpoint_dir(run_dir, gen)
    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)  # a checkpoint directory exists whole or not at all (commit() prunes the older ones)
