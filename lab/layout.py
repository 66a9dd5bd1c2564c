"""The run directory's layout: every name in it, spelled here once, and `RunPaths`, where each file of one run
directory is. lab.rundir.RunDir (a RunPaths) writes and trusts them, lab.tracking and lab.lineage log into them,
lab.report and lab.dashboard read them by these names. Only pathlib is imported: the report stays light."""

from pathlib import Path

CONFIG = "config.yaml"  # the resolved config
OVERRIDES = "overrides.yaml"  # the command-line overrides the run was started with
METRICS = "metrics.jsonl"  # one JSON object per generation: the same keys as the W&B history
TIMING = "timing.jsonl"  # seconds and speeds per generation (kept apart: they differ run to run)
REFERENCE = "reference.json"  # the feature classifier and the real-data floor of every metric
STATE = "state.json"  # completed generations, checksums, the W&B run id, the code: written last, atomically
LOG = "lab.log"
LOCK = ".lock"  # who writes the run directory (pid, host, since when)
WANDB = "wandb"  # the W&B runs: the chain's and its lineage runs (offline: wandb/offline-run-*)
SUPERSEDED = f"{WANDB}/superseded"  # offline W&B directories of interrupted attempts: kept, never synced
LINEAGE = "lineage.jsonl"  # the generations whose lineage artifacts are logged (lab.lineage)
SAMPLES_DIR, GENERATIONS_DIR, CHECKPOINTS_DIR = "samples", "generations", "checkpoints"


def grid(gen: int) -> str:
    """The sample grid of a generation (metrics.jsonl's `samples` and the report's strips)."""
    return f"{SAMPLES_DIR}/gen_{gen:03d}.png"


def samples(gen: int) -> str:
    """The samples a generation feeds to later ones, with its training set's provenance."""
    return f"{GENERATIONS_DIR}/gen_{gen:03d}.pt"


def checkpoint(gen: int) -> str:
    """The generator of a generation (a directory)."""
    return f"{CHECKPOINTS_DIR}/gen_{gen:03d}"


def generation_of(name: str) -> int:
    """The generation a per-generation file belongs to: generations/gen_007.pt and checkpoints/gen_007 → 7."""
    return int(name.rsplit("gen_", 1)[1][:3])


class RunPaths:
    """Where each file of one run directory is. Per-generation files are also named relative to the directory
    (layout.samples(g), …): state.json records their checksums under those names."""

    def __init__(self, path):
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def overrides(self) -> Path:
        return self.path / OVERRIDES

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def timing(self) -> Path:
        return self.path / TIMING

    @property
    def reference(self) -> Path:
        return self.path / REFERENCE

    @property
    def state_file(self) -> Path:
        return self.path / STATE

    @property
    def log(self) -> Path:
        return self.path / LOG

    @property
    def lock(self) -> Path:
        return self.path / LOCK

    @property
    def wandb(self) -> Path:
        return self.path / WANDB

    @property
    def superseded(self) -> Path:
        return self.path / SUPERSEDED

    @property
    def lineage(self) -> Path:
        return self.path / LINEAGE

    @property
    def samples_dir(self) -> Path:
        return self.path / SAMPLES_DIR

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / CHECKPOINTS_DIR

    def grid(self, gen: int) -> Path:
        return self.path / grid(gen)

    def samples(self, gen: int) -> Path:
        return self.path / samples(gen)

    def checkpoint(self, gen: int) -> Path:
        return self.path / checkpoint(gen)

    def wandb_runs(self, run_id: str) -> list[Path]:
        """The local W&B directories of one run id under wandb/ (run-* online, offline-run-* offline), oldest first.
        The id is read from the records file's name, since a directory's name gets a suffix when two runs start
        within one second."""
        found = [p for p in self.wandb.glob("*run-*") if any(f.stem == f"run-{run_id}" for f in p.glob("run-*.wandb"))]
        return sorted(found, key=lambda p: p.name.split("run-", 1)[1])  # YYYYMMDD_HHMMSS-<id>, online or offline

    def file(self, name: str) -> Path:
        """A file named relative to the run directory (state.json's checksum keys, metrics.jsonl's `samples`)."""
        return self.path / name
