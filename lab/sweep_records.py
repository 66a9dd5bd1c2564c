"""Hydra writes a sweep's record, `multirun.yaml` (the composed config with the command's overrides), into the
sweep directory at every launch: resuming or extending a sweep in the same directory would overwrite the record of
how it began. This callback (conf/config.yaml, `hydra.callbacks`) moves an earlier record aside first, numbered in
launch order (`multirun.1.yaml` the first launch, `multirun.2.yaml` the next, …); `multirun.yaml` is the latest."""

import os
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

RECORD = "multirun.yaml"


class KeepEarlierSweepRecords(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        keep_earlier_record(Path(config.hydra.sweep.dir))


def keep_earlier_record(sweep_dir: Path) -> Path | None:
    """Move `sweep_dir/multirun.yaml`, if there is one, to the first free `multirun.N.yaml`; return where it went."""
    record = sweep_dir / RECORD
    if not record.exists():
        return None
    n = 1
    while True:
        kept = sweep_dir / f"multirun.{n}.yaml"
        try:
            os.link(record, kept)  # fails where the name is taken: an earlier record is never replaced
        except FileExistsError:
            n += 1
            continue
        record.unlink()
        return kept
