"""What every model merge shares: its config's common settings and the Merge class a new one subclasses (one file in
lab/merge/ and one in conf/merge/; nothing else to edit).

A merge edits a generation's fitted model after it is fitted and before it samples: the samples every later step
sees (the metrics, the curation, the next training set) come from the merged model, while a warm-started next
generation continues from the weights training left (the merge changes what samples, not what trains).
"""

from dataclasses import dataclass
from typing import ClassVar

from omegaconf import MISSING

from lab.older_runs import added_later
from lab.registry import Option


@dataclass
class MergeConfig:
    """The settings every merge has; each one's own settings are in its Config subclass."""

    name: str = added_later("none", MISSING)


class Merge(Option):
    group = "merge"
    name: ClassVar[str]
    Config = MergeConfig

    @staticmethod
    def check(cfg) -> None:
        """Range checks of the merge's own settings on the whole config (one LabError line each)."""

    def __init__(self, cfg):
        self.cfg = cfg  # the run's settings

    def __call__(self, model, generation: int, fit) -> None:
        """Edit `model` (a fitted lab.generators Generator) in place; what it reports goes into `fit` (its scalars
        into the generation's row, its time into timing.jsonl)."""
        raise NotImplementedError
