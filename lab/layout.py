"""The run directory's layout: every name in it, spelled here once (lab.rundir writes and trusts them, lab.tracking
logs into them, lab.report and lab.dashboard read them). Plain names, no imports: the report stays light."""

CONFIG = "config.yaml"  # the resolved config
OVERRIDES = "overrides.yaml"  # the command-line overrides the run was started with
METRICS = "metrics.jsonl"  # one JSON object per generation: the same keys as the W&B history
TIMING = "timing.jsonl"  # seconds and speeds per generation (kept apart: they differ run to run)
REFERENCE = "reference.json"  # the feature classifier and the real-data floor of every metric
STATE = "state.json"  # completed generations, checksums, the W&B run id, the code: written last, atomically
LOG = "lab.log"
LOCK = ".lock"  # who writes the run directory (pid, host, since when)
WANDB = "wandb"  # the W&B runs: the chain's and its lineage runs (offline: wandb/offline-run-*)
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
