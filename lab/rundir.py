"""The run directory as one object (`RunDir`): every path in it (lab.layout.RunPaths), the way in (one writer, never
another's files, a full disk stopped in one line), a new run's first files, what is written after each generation
and its atomic commit, and what a resumed run may trust (its settings, its code, its files' checksums).

Trust rule: `state.json` (written last, atomically) says how many generations are complete. Anything
of a later generation — a sample file, a checkpoint, a metrics row — may be half-done and is redone.
"""

import errno
import json
import logging
import os
import secrets
import shutil
import string
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from lab import faults, integrity, layout
from lab.conf import comparable
from lab.errors import LabError
from lab.layout import RunPaths
from lab.locks import exclusive
from lab.loops import Samples
from lab.schema import older_run_values

log = logging.getLogger("lab")

# Settings added to the schema after runs already existed, with the value that behaves as the code did before.
# The speed settings' auto values do on a CPU what the code did before (no run predates them on a GPU), except
# sampler.bf16: runs before it sampled in fp32 everywhere, so a CPU with bf16 units resumes them with sampler.bf16=false.
_ABSENT = object()
METRICS_RUN = "metrics.run"


class RunDir(RunPaths):
    """One run directory, and everything that writes or trusts it. Nothing else writes into it except the W&B
    logging (lab.tracking, lab.lineage), which it hands its paths."""

    def holds_foreign_files(self) -> bool:
        """True for a directory with files in it that are not a lab run (the lock file alone does not count)."""
        return self.path.is_dir() and not self.config.exists() and any(p.name != layout.LOCK for p in self.path.iterdir())

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The way in: never into a directory holding other files, one writer at a time (an OS lock), a full disk
        stopped with one line that keeps what is committed, and bad input leaving no new directory behind."""
        if self.holds_foreign_files():
            raise LabError(f"run_dir={self} is not empty and holds no run state; runs are never overwritten: choose another run_dir")
        blocking = next((p for p in (self.path, *self.path.parents) if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise LabError(f"run_dir={self}: {blocking} is a file, not a directory; choose another run_dir")
        created = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # no permission, a read-only disk
            raise LabError(f"run_dir={self} cannot be created ({exc.strerror}); choose another run_dir") from None
        try:
            # One writer per run directory: a second process (a double start, a requeued job) stops here.
            with exclusive(self.lock, f"run_dir={self}"):
                try:
                    yield
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    raise self._disk_full(exc) from None
        except LabError:
            if created:
                remove_if_empty(self.path)  # bad input leaves nothing behind
            raise

    def _disk_full(self, exc: OSError) -> LabError:
        """Every file is written under a temporary name and state.json moves last: what is committed is intact."""
        state = self.read_state() or {"completed_generations": 0}
        done = state["completed_generations"]
        self.remove_temporaries()  # the half-written files give their space back
        kept = f"generations 0–{done - 1} are intact" if done else "no generation was complete"
        return LabError(
            f"run_dir={self}: the disk is full (saving generation {done} failed: {exc.strerror}); {kept}: free some space and run the same command to resume"
        )

    def read_state(self) -> dict | None:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else None

    def write_state(self, state: dict) -> None:
        tmp = self.state_file.with_name(layout.STATE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        faults.point("state_write")
        os.replace(tmp, self.state_file)  # the commit point of a generation

    def start(self, cfg: DictConfig, overrides) -> dict:
        """A new run: its overrides and resolved config, then a state.json with no generation, the W&B run id and the code."""
        atomic_write_text(self.overrides, OmegaConf.to_yaml(OmegaConf.create(list(overrides))))
        atomic_write_text(self.config, OmegaConf.to_yaml(cfg, resolve=True))
        state = {"completed_generations": 0, "wandb_run_id": new_run_id(), "code": [{"from_generation": 0, **integrity.code_identity()}]}
        self.write_state(state)
        return state

    def record_length(self, generations: int) -> None:
        """A chain extended (or asked for fewer generations than it holds): config.yaml says the count last asked for."""
        saved = OmegaConf.load(self.config)
        if int(saved.loop.generations) != generations:
            saved.loop.generations = generations
            atomic_write_text(self.config, OmegaConf.to_yaml(saved))

    def write_reference(self, reference: dict) -> None:
        atomic_write_text(self.reference, json.dumps(reference, indent=2))

    def started_overrides(self):
        """The command-line overrides the run was started with (a resume's may add settings that do not change the science)."""
        return OmegaConf.load(self.overrides)

    @contextmanager
    def logging_to(self) -> Iterator[None]:
        """The run's log lines also go to its lab.log while the block runs."""
        handler = logging.FileHandler(self.log)
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
        logging.getLogger().addHandler(handler)
        try:
            yield
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()

    # After each generation: its grid, metrics row and timing, its samples and checkpoint under temporary names,
    # then the commit.

    def write_row(self, gen: int, scalars: dict, histogram: list[int] | None, picture: np.ndarray, timing: dict | None = None) -> dict:
        """The generation's grid, its row in metrics.jsonl and its timing in timing.jsonl (appended: a resume first
        drops the rows past the last commit, discard_unfinished); returns the row. `histogram`: None where no metric
        of the run counts samples per class."""
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(hw(picture)).save(self.grid(gen))
        counts = {} if histogram is None else {"class_histogram": list(histogram)}
        row = {"generation": gen, **scalars, **counts, "samples": layout.grid(gen)}
        with self.metrics.open("a") as f:
            f.write(json.dumps(row) + "\n")
        if timing:
            with self.timing.open("a") as f:
                f.write(json.dumps({"generation": gen, **timing}) + "\n")
        return row

    def timings(self) -> dict[int, dict]:
        """timing.jsonl by generation."""
        if not self.timing.exists():
            return {}
        rows = [json.loads(line) for line in self.timing.read_text().splitlines() if line.strip()]
        return {r.pop("generation"): r for r in rows}

    def save_samples(self, samples: Samples, provenance: dict) -> None:
        path = self.samples(samples.generation)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        held = {} if samples.heldback is None else {"heldback": samples.heldback}
        torch.save({"images": samples.images, "labels": samples.labels, "provenance": provenance} | held, tmp)
        faults.point("samples_write")
        os.replace(tmp, path)

    def load_samples(self, generation: int) -> Samples:
        saved = torch.load(self.samples(generation), weights_only=True)
        return Samples(generation, saved["images"], saved["labels"], saved.get("heldback"))

    def save_checkpoint(self, gen: int, model) -> None:
        """The generator's `save` writes into a temporary directory that then takes the final name."""
        final = self.checkpoint(gen)
        tmp = final.with_name(f".{final.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        model.save(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)  # a checkpoint directory exists whole or not at all (commit() prunes the older ones)

    def commit(self, state: dict, gen: int, keep: str) -> dict:
        """Generation `gen` is complete: record its files' checksums and move state.json past it.

        With loop.keep=last the older checkpoints go only after the commit: a kill before it finds the
        previous generation's checkpoint where its checksum says it is."""
        sums = integrity.checksums_after(self.path, state, gen)
        if keep == "last":
            sums = {k: v for k, v in sums.items() if not k.startswith(f"{layout.CHECKPOINTS_DIR}/") or layout.generation_of(k) == gen}
        state = dict(state, completed_generations=gen + 1, checksums=sums)
        self.write_state(state)
        if keep == "last":
            for old in self.checkpoints_dir.glob("gen_*"):
                if old != self.checkpoint(gen):
                    shutil.rmtree(old)
        return state

    # What a resume may trust.

    def check_resumable(self, cfg: DictConfig) -> None:
        """A run directory may be resumed only by the same settings (up to those that do not change the science, and
        metrics.run: what a chain logs is fixed when it starts, recorded_metrics)."""
        saved = {k: v for k, v in comparable(OmegaConf.load(self.config)).items() if k != METRICS_RUN}
        now = {k: v for k, v in comparable(cfg).items() if k != METRICS_RUN}
        added_later, removed_later = older_run_values()
        # A setting the option no longer has, recorded at the value it always had, is no difference either.
        saved = {k: v for k, v in saved.items() if k in now or removed_later.get(k, _ABSENT) != v}
        # A setting added after the run began, at the value that does what the code did before, is no difference.
        now = {k: v for k, v in now.items() if k in saved or added_later.get(k, _ABSENT) != v}
        if saved != now:
            diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
            first = diff[0]
            there = saved.get(first)
            if first not in saved and first in added_later:  # a run from before the setting: say what it did then
                there = f"absent, so {added_later[first]},"
            raise LabError(
                f"run_dir={self} holds a run with other settings ({first}: {there} there, "
                f"{now.get(first)} now{', …' if len(diff) > 1 else ''}); resume it with the same settings or choose another run_dir"
            )

    def recorded_metrics(self) -> list[str]:
        """The metrics this chain has logged since it started (metrics.run as recorded; a run from before the setting:
        the list that reproduces it). A resume keeps them, so that every generation of a chain logs the same keys."""
        saved = OmegaConf.load(self.config)
        recorded = OmegaConf.select(saved, METRICS_RUN)
        return list(recorded) if recorded is not None else list(older_run_values()[0][METRICS_RUN])

    def first_damaged(self, state: dict) -> tuple[int, str] | None:
        """(generation, file) of the earliest recorded file that is missing or no longer matches its checksum, else None."""
        return integrity.first_damaged(self.path, state)

    def check_code(self, cfg: DictConfig, state: dict, done: int, code: dict | None = None) -> None:
        """Refuse to continue a chain from generation `done` under other code (`code`: this code's identity) than its
        last, unless the user said so."""
        code = code or integrity.code_identity()
        recorded = state.get("code", [])
        if recorded and recorded[-1]["source_sha256"] != code["source_sha256"] and not cfg.resume_other_code:
            raise LabError(
                f"run_dir={self} was run by other code ({integrity.describe(recorded[-1])}; now {integrity.describe(code)}): "
                f"generations from two versions of the code would mix in one chain; resume with that code, or set "
                f"resume_other_code=true to continue from generation {done} with this one (state.json records it)"
            )

    def trust(self, cfg: DictConfig, state: dict, damaged: tuple[int, str] | None) -> dict:
        """What a resume may build on: the same code (or the user's say-so), and files that match their checksums."""
        done = state["completed_generations"] if damaged is None else damaged[0]
        code = integrity.code_identity()
        recorded = state.get("code", [])
        self.check_code(cfg, state, done, code)
        if recorded and recorded[-1]["source_sha256"] != code["source_sha256"]:
            log.warning(
                "run_dir=%s: generations from %d on run with other code (%s) than before (%s), as resume_other_code=true asks",
                self,
                done,
                integrity.describe(code),
                integrity.describe(recorded[-1]),
            )
        if not recorded or recorded[-1]["source_sha256"] != code["source_sha256"]:
            state = dict(state, code=[*recorded, {"from_generation": done, **code}])
            self.write_state(state)
        if damaged is not None:
            gen, name = damaged
            if cfg.train.warm_start and gen > 0 and not self.checkpoint(gen - 1).exists():
                raise LabError(
                    f"run_dir={self}: {name} does not match its checksum in state.json, and generation {gen} cannot be "
                    f"redone: its warm start needs {layout.checkpoint(gen - 1)}, which loop.keep=last removed; restore "
                    f"{name}, or start a new run"
                )
            log.warning(
                "run_dir=%s: %s is missing or does not match its checksum in state.json (truncated, corrupted or replaced): "
                "generation %d and every later one are redone",
                self,
                name,
                gen,
            )
            state = self.rewind(state, gen)
        return state

    def rewind(self, state: dict, gen: int) -> dict:
        """Generations from `gen` on are to be redone: state.json forgets them (their files are overwritten)."""
        kept = {k: v for k, v in state.get("checksums", {}).items() if layout.generation_of(k) < gen}
        state = dict(state, completed_generations=gen, checksums=kept)
        self.write_state(state)
        return state

    def discard_unfinished(self, completed: int) -> list[dict]:
        """Drop what a killed attempt left past `completed` generations; returns the trusted metrics rows."""
        rows = []
        if self.metrics.exists():
            for line in self.metrics.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by the kill
                    break
                if row.get("generation", completed) < completed:
                    rows.append(row)
            _replace_if_changed(self.metrics, "".join(json.dumps(r) + "\n" for r in rows))
        if self.timing.exists():
            kept = [line for line in self.timing.read_text().splitlines() if _row_generation(line) < completed]
            _replace_if_changed(self.timing, "".join(line + "\n" for line in kept))
        self.remove_temporaries()
        return rows

    def remove_temporaries(self) -> None:
        """Files and checkpoint directories a killed or failed save left under their temporary names."""
        for leftover in sorted(set(self.path.rglob("*.tmp"))):  # checkpoints/.gen_###.tmp is a directory
            if leftover.is_dir():
                shutil.rmtree(leftover)
            elif leftover.exists():  # not inside a directory removed just before
                leftover.unlink()


def hw(picture: np.ndarray) -> np.ndarray:
    """A grid as PIL and W&B want it: HW for grey, HWC for colour."""
    return picture.squeeze(-1) if picture.ndim == 3 and picture.shape[-1] == 1 else picture


def remove_if_empty(path: Path) -> None:
    """A directory made for a run that never started (bad input, a job with nothing to run) goes again."""
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def new_run_id() -> str:
    """Chosen by the lab, not W&B, so that it is in state.json before W&B starts (a resume reuses it)."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def _replace_if_changed(path: Path, text: str) -> None:
    """A finished run's files are left exactly as they are (not even rewritten with the same bytes)."""
    if path.read_text() != text:
        atomic_write_text(path, text)


def _row_generation(line: str) -> int:
    try:
        return int(json.loads(line)["generation"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return 1 << 30
