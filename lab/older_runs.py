"""Runs made before a setting existed resume as they ran. A setting added later is declared with `added_later`,
which keeps beside its definition the value that does what the code did before it; a setting an option no longer
has is named with the value older runs recorded in its schema's `removed_later`. Resume reads both from the
schema (lab.schema.older_run_values): there is no list to keep by hand.
"""

from dataclasses import MISSING, field

OLDER_RUNS = "older_runs"


def added_later(older_runs, default=MISSING, *, default_factory=MISSING):
    """A dataclass field that runs made before it lack; `older_runs` is the value that reproduces them."""
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata={OLDER_RUNS: older_runs})
    return field(default=default, metadata={OLDER_RUNS: older_runs})
