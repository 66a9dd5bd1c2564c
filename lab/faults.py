"""Named kill points for the fault tests: `LAB_FAULT=<phase>:<generation>` makes the process SIGKILL
itself the first time it reaches that phase in that generation (tests/test_resume.py).

Only the tests set LAB_FAULT. Phases, in the order a generation passes them:
    train             half-way through training
    sample            after the first batch of samples
    samples_write     the sample file written under its temporary name, not yet renamed
    metrics           half-way through the metrics (features embedded, scores not yet computed)
    metrics_write     the metrics row appended to metrics.jsonl, state.json not yet written
    checkpoint_write  the raw weights saved, the EMA weights not yet
    state_write       state.json written under its temporary name, not yet renamed
    tracking          the generation committed (state.json renamed), not yet logged to W&B
"""

import contextlib
import contextvars
import os
import signal

PHASES = ("train", "sample", "samples_write", "metrics", "metrics_write", "checkpoint_write", "state_write", "tracking")
_generation: contextvars.ContextVar[int | None] = contextvars.ContextVar("lab_fault_generation", default=None)


@contextlib.contextmanager
def in_generation(generation: int):
    token = _generation.set(generation)
    try:
        yield
    finally:
        _generation.reset(token)


def point(phase: str) -> None:
    wanted = os.environ.get("LAB_FAULT")
    if wanted and wanted == f"{phase}:{_generation.get()}":
        os.kill(os.getpid(), signal.SIGKILL)
